"""The contact center as the web sees it: `center.service.ContactCenter` over the running
Stasis app (ACD, call control, IVR versions, agents' endpoints)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.model import AgentState, QueueConfig
from pbx_stasis.acd.runner import AcdService, CallControlError
from pbx_stasis.acd.settings import SettingsInvalid, queue_settings
from pbx_stasis.acd.stay import Waiting
from pbx_stasis.ari import AriError
from pbx_stasis.bus import Bus
from pbx_stasis.center.service import (
    AgentProfile,
    AgentView,
    CallState,
    FlowDocument,
    FlowSummary,
    LiveCall,
    QueueStats,
    SettableState,
    SipCredentials,
    TransferKind,
)
from pbx_stasis.config import AgentSettings
from pbx_stasis.dialing import DialRefused, PhoneNotRegistered
from pbx_stasis.dialing.errors import CallerIdRefused
from pbx_stasis.ivr.errors import Problem
from pbx_stasis.ivr.service import IvrService
from pbx_stasis.store import Database, Direction, Directory, StoreError, accounts
from pbx_stasis.store.calls import CallRecords
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode

# Roles that get a WebRTC endpoint: agents take calls, supervisors listen/whisper/barge.
PHONE_ROLES = {"agent", "supervisor"}

T = TypeVar("T")
# CallControlError codes -> what the web answers (anything else: 409)
_CONTROL_ERRORS = {"not-found": ServiceErrorCode.NOT_FOUND,
                   "forbidden": ServiceErrorCode.FORBIDDEN}


class LiveContactCenter:
    """Implements center.service.ContactCenter with the real telephony."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        acd: AcdService,
        ivr: IvrService,
        *,
        ws_url: str,
        sip_domain: str,
        dial: Callable[[AgentRecord, str, str, str | None], Coroutine[Any, Any, None]],
        pause_reasons: tuple[str, ...] = AgentSettings().pause_reasons,
    ) -> None:
        self.reasons = list(pause_reasons)
        self.db = db
        self.bus = bus
        self.acd = acd
        self.ivr = ivr
        self.ws_url = ws_url
        self.sip_domain = sip_domain
        self._dial = dial
        self.users = Directory(db)
        self.records = CallRecords(db)

    # --- agents -----------------------------------------------------------------------------

    def _agent(self, tenant_id: int, user_id: int) -> AgentRecord:
        agent = self.acd.agents.get(str(user_id))
        if agent is None or agent.tenant_id != tenant_id:
            raise ServiceError(ServiceErrorCode.NOT_FOUND, "no such agent")
        return agent

    def view(self, agent: AgentRecord) -> AgentView:
        return self.acd.publisher.agent_view(agent)

    async def agent_status(self, tenant_id: int, user_id: int) -> AgentView:
        return self.view(self._agent(tenant_id, user_id))

    async def set_agent_state(
        self, tenant_id: int, user_id: int, state: SettableState, reason: str | None
    ) -> AgentView:
        agent = self._agent(tenant_id, user_id)
        current = self.view(agent).state
        if current in (AgentState.RINGING, AgentState.ON_CALL):
            raise ServiceError(ServiceErrorCode.CONFLICT, f"not while {current.value}")
        if current is AgentState.WRAP_UP:
            # Choosing a state ends wrap-up now (the web checked the disposition is saved).
            self.acd.wrapup_done(agent.agent_id)
        if state is SettableState.OFFLINE:
            self.acd.logout(agent.agent_id)
        else:
            if not agent.queues:
                raise ServiceError(ServiceErrorCode.CONFLICT,
                                   "you are in no queue yet: ask an admin to add you to one")
            self.acd.login(agent.agent_id)
            if state is SettableState.PAUSED:
                if reason is None or reason not in self.reasons:
                    raise ServiceError(ServiceErrorCode.INVALID,
                                       f"reason must be one of {', '.join(self.reasons)}",
                                       field="reason")
                self.acd.pause(agent.agent_id, reason)
            else:
                self.acd.unpause(agent.agent_id)
        await self.acd.barrier()
        return self.view(agent)

    async def complete_wrapup(self, tenant_id: int, user_id: int, call_id: str) -> AgentView:
        agent = self._agent(tenant_id, user_id)
        self.acd.complete_wrapup(agent.agent_id, call_id)
        await self.acd.barrier()
        return self.view(agent)

    async def pause_reasons(self, tenant_id: int) -> list[str]:
        return list(self.reasons)

    async def agents(self, tenant_id: int) -> list[AgentView]:
        return [self.view(a) for a in self.acd.agents.values() if a.tenant_id == tenant_id]

    async def agent_profile(self, tenant_id: int, user_id: int) -> AgentProfile:
        agent = self._agent(tenant_id, user_id)
        return AgentProfile(skills=dict(agent.skills), queues=tuple(sorted(agent.queues)))

    async def update_agent_profile(
        self, tenant_id: int, user_id: int, profile: AgentProfile
    ) -> AgentProfile:
        agent = self._agent(tenant_id, user_id)
        known = [c.name for _, c in await self.acd.directory.queues(tenant_id)]
        try:  # the rule `pbx agent set` applies too
            accounts.queues(profile.queues, known)
        except accounts.AccountInvalid as exc:
            raise ServiceError(ServiceErrorCode.INVALID, exc.problem, field=exc.field) from exc
        penalties = {q: agent.queues.get(q, 0) for q in profile.queues}
        try:
            record = await self.acd.directory.save_agent(
                agent.user_id, skills=dict(profile.skills), queues=penalties)
        except SettingsInvalid as exc:
            field, message = next(iter(exc.problems.items()))
            raise ServiceError(ServiceErrorCode.INVALID, message, field=field) from exc
        await self.acd.save_agent(record)
        return AgentProfile(skills=dict(record.skills), queues=tuple(sorted(record.queues)))

    async def sync_user(self, tenant_id: int, user_id: int) -> None:
        user = await self.users.get_user_by_id(user_id)
        if user is None or user.tenant_id != tenant_id:
            raise ServiceError(ServiceErrorCode.NOT_FOUND, "no such user")
        if str(user.role) not in PHONE_ROLES:
            return
        record = await self.acd.directory.save_agent(user_id)
        if user.disabled:
            self.acd.logout(record.agent_id)
        await self.acd.save_agent(record)

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        agent = self._agent(tenant_id, user_id)
        return SipCredentials(
            ws_url=self.ws_url,
            uri=f"sip:{agent.endpoint}@{self.sip_domain}",
            authorization_user=agent.endpoint,
            password=agent.sip_password,
            display_name=agent.name,
        )

    async def reset_sip_password(self, tenant_id: int, user_id: int) -> None:
        agent = self._agent(tenant_id, user_id)
        await self.acd.directory.reset_sip_password(agent.user_id)
        record = await self.acd.directory.agent(agent.user_id)
        assert record is not None
        await self.acd.save_agent(record)

    # --- calls --------------------------------------------------------------------------------

    async def calls_stored(self) -> None:
        await self.db.writes.settle()

    async def live_calls(self, tenant_id: int) -> list[LiveCall]:
        calls = []
        for record in await self.records.live_calls(tenant_id):
            # Not in the ACD: an agent's outside call still rings the number, else the IVR.
            state = CallState.RINGING if record.direction == Direction.OUTBOUND else CallState.IVR
            queue, agent_id, held, muted = record.queue, None, False, False
            connected_at = None
            try:
                waiting = self.acd.live(record.id)
            except CallControlError:
                pass
            else:
                queue, held, muted = waiting.queue, waiting.held, waiting.muted
                connected_at = waiting.connected_at
                if waiting.agent_leg is not None:
                    agent_id = self.acd.agents[waiting.agent_leg.offer.agent_id].user_id
                state = stage(waiting)
            where = self._stage(record.id, state)
            if where.get("ringing_user_id") is not None:
                state = CallState.RINGING
            calls.append(LiveCall(
                call_id=record.id, direction=record.direction, from_number=record.from_number,
                to_number=record.to_number, state=state, started_at=record.started_at,
                answered_at=record.answered_at, queue=queue,
                agent_user_id=agent_id or record.agent_user_id, held=held, muted=muted,
                connected_at=connected_at, **where,
            ))
        return calls

    def _stage(self, call_id: str, state: CallState) -> dict[str, Any]:
        """Where a live call is at beyond its state: the IVR's node, or its place in a queue
        (position, since when, priority) and the agent whose phone rings for it."""
        if state is CallState.IVR:
            tools = self.ivr.tools
            node = tools.nodes.get(call_id) if tools is not None else None
            return {"ivr_node": node} if node else {}
        view = self.acd.core.call(call_id)
        if state is not CallState.QUEUED or view is None or view.position is None:
            return {}
        ringing = sorted(self.acd.agents[a].user_id for a in view.offered_to
                         if a in self.acd.agents)
        return {"position": view.position, "priority": view.priority,
                "waiting_since": datetime.fromtimestamp(view.entered_at, UTC),
                "ringing_user_id": ringing[0] if ringing else None}

    async def move_waiting(self, tenant_id: int, call_id: str, queue: str, by: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.move(call_id, queue, by=by))

    async def voicemail_waiting(self, tenant_id: int, call_id: str, by: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.to_voicemail(call_id, by=by))

    async def prioritize_waiting(self, tenant_id: int, call_id: str, priority: int,
                                 by: str) -> None:
        await self._control(tenant_id, call_id,
                            lambda: self.acd.prioritize(call_id, priority, by=by))

    async def _control(self, tenant_id: int, call_id: str,
                       action: Callable[[], Coroutine[Any, Any, T]]) -> T:
        try:
            if self.acd.live(call_id).tenant_id != tenant_id:
                raise ServiceError(ServiceErrorCode.NOT_FOUND, "no such call")
            return await action()
        except CallControlError as exc:
            code = _CONTROL_ERRORS.get(exc.code, ServiceErrorCode.CONFLICT)
            raise ServiceError(code, str(exc)) from exc
        except AriError as exc:
            raise ServiceError(ServiceErrorCode.UNAVAILABLE, f"Asterisk: {exc.message}") from exc

    async def hangup(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.hangup(call_id))

    async def hold(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.hold(call_id))

    async def unhold(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.unhold(call_id))

    async def mute(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.mute(call_id, True))

    async def unmute(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.mute(call_id, False))

    async def transfer(
        self, tenant_id: int, call_id: str, kind: TransferKind, target: str, attended: bool
    ) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.transfer(
            call_id, kind.value, target, attended=attended))

    async def complete_transfer(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.complete_transfer(call_id))

    async def cancel_transfer(self, tenant_id: int, call_id: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.cancel_transfer(call_id))

    async def send_dtmf(self, tenant_id: int, call_id: str, digits: str) -> None:
        await self._control(tenant_id, call_id, lambda: self.acd.send_dtmf(call_id, digits))

    async def dial(self, tenant_id: int, user_id: int, number: str,
                   caller_id: str | None = None, call_id: str | None = None) -> str:
        agent = self._agent(tenant_id, user_id)
        call_id = call_id or uuid.uuid4().hex
        try:
            await self._dial(agent, number, call_id, caller_id)
        except CallerIdRefused as exc:
            raise ServiceError(ServiceErrorCode.INVALID, str(exc), field="caller_id") from exc
        except DialRefused as exc:
            raise ServiceError(ServiceErrorCode.FORBIDDEN, str(exc), field="number") from exc
        except PhoneNotRegistered as exc:
            raise ServiceError(ServiceErrorCode.CONFLICT, str(exc)) from exc
        except AriError as exc:
            raise ServiceError(ServiceErrorCode.UNAVAILABLE,
                               f"cannot ring your phone: {exc.message}") from exc
        return call_id

    # --- queues -------------------------------------------------------------------------------

    async def queues(self, tenant_id: int) -> list[QueueConfig]:
        return [config for _, config in await self.acd.directory.queues(tenant_id)]

    async def _save_queue(self, tenant_id: int, config: QueueConfig, *, exists: bool
                          ) -> QueueConfig:
        names = {c.name for c in await self.queues(tenant_id)}
        if exists and config.name not in names:
            raise ServiceError(ServiceErrorCode.NOT_FOUND, f"no queue {config.name!r}")
        if not exists and config.name in names:
            raise ServiceError(ServiceErrorCode.CONFLICT, f"queue {config.name!r} exists",
                               field="name")
        try:
            return await self.acd.save_queue(tenant_id, config.name, queue_settings(config))
        except SettingsInvalid as exc:
            field, message = next(iter(exc.problems.items()))
            raise ServiceError(ServiceErrorCode.INVALID, message, field=field) from exc

    async def create_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        return await self._save_queue(tenant_id, config, exists=False)

    async def update_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        return await self._save_queue(tenant_id, config, exists=True)

    def _queue_stats(self, key: str) -> QueueStats:
        return self.acd.publisher.queue_stats(key)

    async def queue_stats(self, tenant_id: int) -> list[QueueStats]:
        return [self._queue_stats(queue_key(tenant_id, c.name))
                for c in await self.queues(tenant_id)]

    # --- IVR flows ----------------------------------------------------------------------------

    async def _active_sources(self, tenant_id: int) -> tuple[int, list[tuple[str, str]],
                                                             datetime | None, str | None]:
        active = await self.ivr.versions.active(tenant_id)
        if active is None:
            return 0, [], None, None
        return active.number, list(active.sources), active.created_at, active.created_by

    async def flows(self, tenant_id: int) -> list[FlowSummary]:
        number, sources, at, by = await self._active_sources(tenant_id)
        return [FlowSummary(name, number, at, by) for name, _ in sources]

    async def flow(self, tenant_id: int, name: str) -> FlowDocument:
        number, sources, _, _ = await self._active_sources(tenant_id)
        for file, text in sources:
            if file == name:
                return FlowDocument(name, number, text)
        raise ServiceError(ServiceErrorCode.NOT_FOUND, f"no flow {name!r}")

    async def validate_flow(self, tenant_id: int, name: str, yaml_text: str) -> list[Problem]:
        _, sources, _, _ = await self._active_sources(tenant_id)
        others = [s for s in sources if s[0] != name]
        _, problems = await self.ivr.check([*others, (name, yaml_text)], tenant_id)
        return problems

    async def apply_flow(
        self, tenant_id: int, name: str, yaml_text: str, user_id: int
    ) -> FlowSummary:
        from pbx_stasis.ivr.errors import FlowSetInvalid

        user = await self.users.get_user_by_id(user_id)
        try:
            applied = await self.ivr.apply_file(
                tenant_id, name, yaml_text, user.username if user else str(user_id),
                user_id=user_id)
        except StoreError as exc:
            raise ServiceError(ServiceErrorCode.UNAVAILABLE, str(exc)) from exc
        if applied.version is None:
            raise FlowSetInvalid(applied.problems)
        return FlowSummary(name, applied.version.number, applied.version.created_at,
                           applied.version.created_by)


def websocket_sip_url(ari_url: str, edge_websocket: str = "") -> tuple[str, str]:
    """(ws URL of Asterisk's SIP-over-WebSocket, SIP domain) from the ARI URL: both are served
    by Asterisk's HTTP server. With a SIP edge, its WebSocket (`edge.websocket`) instead."""
    if edge_websocket:
        return edge_websocket, urlsplit(edge_websocket).hostname or "127.0.0.1"
    parts = urlsplit(ari_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws", parts.hostname or "127.0.0.1"


def stage(waiting: Waiting) -> CallState:
    """Where a call the ACD holds stands (the live calls page's and /metrics' stage)."""
    return (CallState.CONSULTING if waiting.consult else CallState.HELD if waiting.held
            else CallState.TALKING if waiting.connected else CallState.QUEUED)
