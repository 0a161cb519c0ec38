"""The web process's stand-ins for the Stasis process's ContactCenter, Supervision and
CallRecorder: every call goes to the Stasis process over loopback HTTP (`Remote._call`, the one
forwarding mechanism), and the Stasis process's bus events are relayed into the web process's
bus."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, ClassVar, cast

import aiohttp

from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.acd.runner import Talk
from pbx_stasis.bus import Bus
from pbx_stasis.ivr.errors import FlowSetInvalid, Problem
from pbx_stasis.recording.recorder import LiveRecordingView
from pbx_stasis.remote.codec import decode, signature
from pbx_stasis.remote.interfaces import CENTER, RECORDING, SUPERVISION, Interface
from pbx_stasis.remote.server import SECRET_HEADER
from pbx_stasis.supervision.audit import SegmentRecord
from pbx_stasis.supervision.core import Mode
from pbx_stasis.supervision.http import SupervisedCall
from pbx_stasis.supervision.service import SessionView, Switched
from pbx_stasis.web.services import (
    AgentProfile,
    AgentView,
    FlowDocument,
    FlowSummary,
    LiveCall,
    QueueStats,
    SettableState,
    SipCredentials,
    TransferKind,
)

log = logging.getLogger(__name__)


class Remote:
    """Calls `interface`'s methods on `pbx run --part stasis`. The Stasis side's errors come
    back as the same exception (type, code, message); when it cannot be reached or does not
    answer properly, the interface's error with code unavailable (503 in the routes)."""

    interface: ClassVar[Interface]

    def __init__(self, url: str, secret: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._headers = {SECRET_HEADER: secret}
        self._session = session

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        interface = self.interface
        wire = signature(interface.protocol, method)
        body = wire.body(*args, **kwargs)
        try:
            async with self._session.post(
                f"{self.url}/rpc/{interface.name}/{method}", json=body, headers=self._headers
            ) as response:
                if response.status != 200:
                    reason = (await response.text())[:200]
                    raise interface.unavailable(
                        f"the telephony process answered {response.status}: {reason}"
                    )
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise interface.unavailable(
                f"the telephony process is not reachable ({self.url}): {exc}"
            ) from exc
        if "error" in data:
            error = data["error"]
            raise interface.rebuild(error["code"], error["message"], error.get("field"))
        if "invalid" in data:
            raise FlowSetInvalid([decode(Problem, p) for p in data["invalid"]])
        return decode(wire.returns, data["result"])


class RemoteContactCenter(Remote):
    """Implements web.services.ContactCenter by calling `pbx run --part stasis`."""

    interface = CENTER

    async def agent_status(self, tenant_id: int, user_id: int) -> AgentView:
        return cast("AgentView", await self._call("agent_status", tenant_id, user_id))

    async def set_agent_state(
        self, tenant_id: int, user_id: int, state: SettableState, reason: str | None
    ) -> AgentView:
        return cast(
            "AgentView", await self._call("set_agent_state", tenant_id, user_id, state, reason)
        )

    async def complete_wrapup(self, tenant_id: int, user_id: int, call_id: str) -> AgentView:
        return cast("AgentView", await self._call("complete_wrapup", tenant_id, user_id, call_id))

    async def pause_reasons(self, tenant_id: int) -> list[str]:
        return cast("list[str]", await self._call("pause_reasons", tenant_id))

    async def agents(self, tenant_id: int) -> list[AgentView]:
        return cast("list[AgentView]", await self._call("agents", tenant_id))

    async def agent_profile(self, tenant_id: int, user_id: int) -> AgentProfile:
        return cast("AgentProfile", await self._call("agent_profile", tenant_id, user_id))

    async def update_agent_profile(
        self, tenant_id: int, user_id: int, profile: AgentProfile
    ) -> AgentProfile:
        return cast(
            "AgentProfile", await self._call("update_agent_profile", tenant_id, user_id, profile)
        )

    async def sync_user(self, tenant_id: int, user_id: int) -> None:
        await self._call("sync_user", tenant_id, user_id)

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        return cast("SipCredentials", await self._call("sip_credentials", tenant_id, user_id))

    async def reset_sip_password(self, tenant_id: int, user_id: int) -> None:
        await self._call("reset_sip_password", tenant_id, user_id)

    async def live_calls(self, tenant_id: int) -> list[LiveCall]:
        return cast("list[LiveCall]", await self._call("live_calls", tenant_id))

    async def hangup(self, tenant_id: int, call_id: str) -> None:
        await self._call("hangup", tenant_id, call_id)

    async def hold(self, tenant_id: int, call_id: str) -> None:
        await self._call("hold", tenant_id, call_id)

    async def unhold(self, tenant_id: int, call_id: str) -> None:
        await self._call("unhold", tenant_id, call_id)

    async def mute(self, tenant_id: int, call_id: str) -> None:
        await self._call("mute", tenant_id, call_id)

    async def unmute(self, tenant_id: int, call_id: str) -> None:
        await self._call("unmute", tenant_id, call_id)

    async def transfer(
        self, tenant_id: int, call_id: str, kind: TransferKind, target: str, attended: bool
    ) -> None:
        await self._call("transfer", tenant_id, call_id, kind, target, attended)

    async def complete_transfer(self, tenant_id: int, call_id: str) -> None:
        await self._call("complete_transfer", tenant_id, call_id)

    async def cancel_transfer(self, tenant_id: int, call_id: str) -> None:
        await self._call("cancel_transfer", tenant_id, call_id)

    async def send_dtmf(self, tenant_id: int, call_id: str, digits: str) -> None:
        await self._call("send_dtmf", tenant_id, call_id, digits)

    async def dial(self, tenant_id: int, user_id: int, number: str) -> str:
        return cast("str", await self._call("dial", tenant_id, user_id, number))

    async def queues(self, tenant_id: int) -> list[QueueConfig]:
        return cast("list[QueueConfig]", await self._call("queues", tenant_id))

    async def create_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        return cast("QueueConfig", await self._call("create_queue", tenant_id, config))

    async def update_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        return cast("QueueConfig", await self._call("update_queue", tenant_id, config))

    async def queue_stats(self, tenant_id: int) -> list[QueueStats]:
        return cast("list[QueueStats]", await self._call("queue_stats", tenant_id))

    async def flows(self, tenant_id: int) -> list[FlowSummary]:
        return cast("list[FlowSummary]", await self._call("flows", tenant_id))

    async def flow(self, tenant_id: int, name: str) -> FlowDocument:
        return cast("FlowDocument", await self._call("flow", tenant_id, name))

    async def validate_flow(self, tenant_id: int, name: str, yaml_text: str) -> list[Problem]:
        return cast("list[Problem]", await self._call("validate_flow", tenant_id, name, yaml_text))

    async def apply_flow(
        self, tenant_id: int, name: str, yaml_text: str, user_id: int
    ) -> FlowSummary:
        return cast(
            "FlowSummary", await self._call("apply_flow", tenant_id, name, yaml_text, user_id)
        )


class RemoteSupervision(Remote):
    """supervision.http.SupervisionControl of `pbx run --part stasis`."""

    interface = SUPERVISION

    async def supervised_calls(self, tenant_id: int) -> list[SupervisedCall]:
        return cast("list[SupervisedCall]", await self._call("supervised_calls", tenant_id))

    async def sessions(self, tenant_id: int, call_id: str | None = None) -> list[SessionView]:
        return cast("list[SessionView]", await self._call("sessions", tenant_id, call_id))

    async def session(self, tenant_id: int, session_id: str) -> SessionView:
        return cast("SessionView", await self._call("session", tenant_id, session_id))

    async def talk(self, tenant_id: int, call_id: str) -> Talk | None:
        return cast("Talk | None", await self._call("talk", tenant_id, call_id))

    async def start(
        self,
        tenant_id: int,
        call_id: str,
        line: str,
        mode: Mode,
        *,
        supervisor_user_id: int | None = None,
    ) -> SessionView:
        return cast("SessionView", await self._call(
            "start", tenant_id, call_id, line, mode, supervisor_user_id=supervisor_user_id))

    async def switch(
        self, session_id: str, mode: Mode, *, tenant_id: int | None = None
    ) -> Switched:
        return cast("Switched", await self._call("switch", session_id, mode,
                                                 tenant_id=tenant_id))

    async def stop(self, session_id: str, *, tenant_id: int | None = None) -> None:
        await self._call("stop", session_id, tenant_id=tenant_id)

    async def history(
        self, tenant_id: int, *, call_id: str | None = None, limit: int = 100
    ) -> list[SegmentRecord]:
        return cast("list[SegmentRecord]", await self._call(
            "history", tenant_id, call_id=call_id, limit=limit))


class RemoteRecorder(Remote):
    """recording.http.RecordingControl of `pbx run --part stasis`."""

    interface = RECORDING

    async def talk(self, tenant_id: int, call_id: str) -> Talk:
        return cast("Talk", await self._call("talk", tenant_id, call_id))

    async def state(self, tenant_id: int, call_id: str) -> LiveRecordingView:
        return cast("LiveRecordingView", await self._call("state", tenant_id, call_id))

    async def start(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        return cast("LiveRecordingView", await self._call(
            "start", tenant_id, call_id, by_user_id=by_user_id))

    async def pause(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        return cast("LiveRecordingView", await self._call(
            "pause", tenant_id, call_id, by_user_id=by_user_id))

    async def resume(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        return cast("LiveRecordingView", await self._call(
            "resume", tenant_id, call_id, by_user_id=by_user_id))


async def relay_events(url: str, secret: str, bus: Bus, session: aiohttp.ClientSession) -> None:
    """Republish the Stasis process's bus events here, reconnecting with backoff forever."""
    failures = 0
    while True:
        try:
            async with session.ws_connect(
                f"{url.rstrip('/')}/events", headers={SECRET_HEADER: secret}, heartbeat=10
            ) as ws:
                failures = 0
                log.info("relaying telephony events from %s", url)
                async for message in ws:
                    if message.type is aiohttp.WSMsgType.TEXT:
                        event = json.loads(message.data)
                        bus.publish(event["topic"], event["tenant_id"], event["payload"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("telephony events from %s: %s", url, exc)
        failures += 1
        await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1))
