"""The web process's ContactCenter: every call goes to the Stasis process over loopback HTTP,
and the Stasis process's bus events are relayed into the web process's bus."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, cast

import aiohttp

from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.bus import Bus
from pbx_stasis.ivr.errors import FlowSetInvalid, Problem
from pbx_stasis.remote.codec import decode, encode, signature
from pbx_stasis.remote.server import SECRET_HEADER
from pbx_stasis.web.services import (
    AgentProfile,
    AgentView,
    FlowDocument,
    FlowSummary,
    LiveCall,
    QueueStats,
    ServiceError,
    ServiceErrorCode,
    SettableState,
    SipCredentials,
    TransferKind,
)

log = logging.getLogger(__name__)


class RemoteContactCenter:
    """Implements web.services.ContactCenter by calling `pbx run --part stasis`."""

    def __init__(self, url: str, secret: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._headers = {SECRET_HEADER: secret}
        self._session = session

    async def _call(self, method: str, *args: Any) -> Any:
        params, returns = signature(method)
        body = {name: encode(arg) for (name, _), arg in zip(params, args, strict=True)}
        try:
            async with self._session.post(
                f"{self.url}/rpc/{method}", json=body, headers=self._headers
            ) as response:
                if response.status != 200:
                    raise ServiceError(
                        ServiceErrorCode.UNAVAILABLE,
                        f"telephony process answered {response.status}",
                    )
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceError(
                ServiceErrorCode.UNAVAILABLE, f"the telephony process is not reachable: {exc}"
            ) from exc
        if "error" in data:
            error = data["error"]
            raise ServiceError(ServiceErrorCode(error["code"]), error["message"], error["field"])
        if "invalid" in data:
            raise FlowSetInvalid([decode(Problem, p) for p in data["invalid"]])
        return decode(returns, data["result"])

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
