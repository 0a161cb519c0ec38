"""An in-memory ContactCenter for testing the web layer without Asterisk (tests only).

It keeps agents, live calls, queues and flows in dicts, enforces tenants like the real one
must, and publishes the bus events the protocol documents, so pages and the feed can be
exercised. IVR validation uses the real IVR loader. It is never used by the product; the
lead's e2e run against the sandbox Asterisk replaces it with the real implementation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from pbx_stasis.acd.model import AgentState, QueueConfig
from pbx_stasis.acd.topics import AGENT_STATE, AgentStateChanged
from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import (
    CALL_ENDED,
    CALL_INCOMING,
    CALL_STATE,
    CallEnded,
    CallRinging,
    CallUpdated,
)
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
from pbx_stasis.ivr.errors import FlowSetInvalid, Problem, errors
from pbx_stasis.ivr.events import IVR_UPDATED, IvrUpdated
from pbx_stasis.ivr.loader import check_sources
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Direction
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode


def _fields(value: object) -> dict[str, Any]:
    """A view's fields, to build its bus event from (the pages read the same JSON)."""
    return {spec.name: getattr(value, spec.name) for spec in fields(value)}  # type: ignore[arg-type]

NOT_FOUND = ServiceErrorCode.NOT_FOUND
CONFLICT = ServiceErrorCode.CONFLICT


@dataclass
class _Agent:
    tenant_id: int
    user_id: int
    name: str
    state: AgentState = AgentState.OFFLINE
    since: datetime = field(default_factory=utc_now)
    reason: str | None = None
    call_id: str | None = None
    wrapup_ends_at: datetime | None = None
    wrapup_released: bool = False
    calls_today: int = 0
    registered: bool = False
    # Logged into its queues, but the app does not see its phone (offline to the queues).
    phone_lost: bool = False
    profile: AgentProfile = field(default_factory=AgentProfile)
    sip_password: str = "initial-secret"

    def view(self) -> AgentView:
        return AgentView(
            user_id=self.user_id,
            name=self.name,
            state=self.state,
            since=self.since,
            reason=self.reason,
            call_id=self.call_id,
            wrapup_ends_at=self.wrapup_ends_at,
            calls_today=self.calls_today,
            registered=self.registered,
            # As the ACD says it: the queues the agent is logged into (none when offline).
            queues=tuple(self.profile.queues)
            if self.state is not AgentState.OFFLINE or self.phone_lost else (),
            member_of=tuple(self.profile.queues),
        )


@dataclass
class MemoryContactCenter:
    bus: Bus
    wrapup: timedelta = timedelta(seconds=30)
    agent_records: dict[tuple[int, int], _Agent] = field(default_factory=dict)
    calls: dict[str, tuple[int, LiveCall]] = field(default_factory=dict)
    queue_configs: dict[int, dict[str, QueueConfig]] = field(default_factory=dict)
    flow_versions: dict[tuple[int, str], list[tuple[FlowDocument, FlowSummary]]] = field(
        default_factory=dict
    )
    reasons: list[str] = field(default_factory=lambda: ["break", "lunch", "training"])
    sip_ws_url: str = "ws://127.0.0.1:8088/ws"
    # What the web layer asked, in order, for assertions: (operation, tenant_id, args...).
    asked: list[tuple[Any, ...]] = field(default_factory=list)
    synced_users: list[int] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- arranging a world (tests) --------------------------------------------------------

    def add_agent(self, tenant_id: int, user_id: int, name: str, **values: Any) -> None:
        self.agent_records[(tenant_id, user_id)] = _Agent(tenant_id, user_id, name, **values)

    def lose_phone(self, tenant_id: int, user_id: int) -> None:
        """The app stops seeing a logged-in agent's phone: offline to the queues until it is
        back, still logged into them (the real ACD's AgentUnregistered)."""
        agent = self._agent(tenant_id, user_id)
        agent.phone_lost, agent.registered = True, False
        self._set(agent, AgentState.OFFLINE)

    def add_queue(self, tenant_id: int, config: QueueConfig) -> None:
        self.queue_configs.setdefault(tenant_id, {})[config.name] = config

    def add_call(
        self,
        tenant_id: int,
        *,
        call_id: str | None = None,
        agent_user_id: int | None = None,
        from_number: str = "+14155550100",
        to_number: str = "+18005550199",
        state: CallState = CallState.TALKING,
        queue: str | None = "support",
        direction: Direction = Direction.INBOUND,
    ) -> LiveCall:
        call = LiveCall(
            call_id=call_id or f"call{next(self._ids):04d}",
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            state=state,
            started_at=utc_now(),
            answered_at=utc_now() if state is CallState.TALKING else None,
            queue=queue,
            agent_user_id=agent_user_id,
        )
        self.calls[call.call_id] = (tenant_id, call)
        return call

    def ring(
        self,
        tenant_id: int,
        user_id: int,
        from_number: str,
        queue: str = "support",
        call_id: str | None = None,
    ) -> str:
        """A queue call offered to this agent: call:incoming and agent:state are published."""
        call = self.add_call(
            tenant_id,
            call_id=call_id,
            agent_user_id=user_id,
            from_number=from_number,
            state=CallState.RINGING,
            queue=queue,
        )
        agent = self._agent(tenant_id, user_id)
        self._set(agent, AgentState.RINGING, call_id=call.call_id)
        self.bus.publish(CALL_INCOMING, tenant_id, CallRinging(**_fields(call)))
        return call.call_id

    def answer(self, call_id: str) -> None:
        tenant_id, call = self.calls[call_id]
        now = utc_now()  # the IVR may have answered the call before (answered_at)
        self._update_call(tenant_id, call, state=CallState.TALKING,
                          answered_at=call.answered_at or now, connected_at=now)
        if call.agent_user_id is not None:
            agent = self._agent(tenant_id, call.agent_user_id)
            agent.calls_today += 1
            self._set(agent, AgentState.ON_CALL, call_id=call_id)

    def end(self, call_id: str) -> None:
        """The call hangs up; its agent goes to wrap-up."""
        tenant_id, call = self.calls.pop(call_id)
        ended = replace(call, state=CallState.ENDED)
        self.bus.publish(CALL_ENDED, tenant_id, CallEnded(
            **_fields(ended), cause=16, by="caller", ended_at=utc_now()))
        if call.agent_user_id is not None:
            agent = self._agent(tenant_id, call.agent_user_id)
            agent.wrapup_released = False
            self._set(
                agent, AgentState.WRAP_UP, call_id=call_id, wrapup_ends_at=utc_now() + self.wrapup
            )

    # --- ContactCenter --------------------------------------------------------------------

    def _agent(self, tenant_id: int, user_id: int) -> _Agent:
        agent = self.agent_records.get((tenant_id, user_id))
        if agent is None:
            raise ServiceError(NOT_FOUND, "You have no agent profile")
        return agent

    def _set(self, agent: _Agent, state: AgentState, **values: Any) -> None:
        agent.state = state
        agent.since = utc_now()
        agent.reason = values.get("reason")
        agent.call_id = values.get("call_id")
        agent.wrapup_ends_at = values.get("wrapup_ends_at")
        self.bus.publish(AGENT_STATE, agent.tenant_id, AgentStateChanged(**_fields(agent.view())))

    def _call(self, tenant_id: int, call_id: str) -> LiveCall:
        found = self.calls.get(call_id)
        if found is None or found[0] != tenant_id:
            raise ServiceError(NOT_FOUND, "No such call")
        return found[1]

    def _update_call(self, tenant_id: int, call: LiveCall, **values: Any) -> LiveCall:
        updated = replace(call, **values)
        self.calls[call.call_id] = (tenant_id, updated)
        self.bus.publish(CALL_STATE, tenant_id, CallUpdated(**_fields(updated)))
        return updated

    async def agent_status(self, tenant_id: int, user_id: int) -> AgentView:
        return self._agent(tenant_id, user_id).view()

    async def set_agent_state(
        self, tenant_id: int, user_id: int, state: SettableState, reason: str | None
    ) -> AgentView:
        agent = self._agent(tenant_id, user_id)
        self.asked.append(("set_agent_state", tenant_id, user_id, state, reason))
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise ServiceError(CONFLICT, "You are on a call")
        # As the real one: choosing a state ends wrap-up (the web checked the disposition).
        self._set(agent, AgentState(state.value), reason=reason)
        return agent.view()

    async def complete_wrapup(self, tenant_id: int, user_id: int, call_id: str) -> AgentView:
        agent = self._agent(tenant_id, user_id)
        self.asked.append(("complete_wrapup", tenant_id, user_id, call_id))
        if agent.state is AgentState.WRAP_UP and agent.call_id == call_id:
            agent.wrapup_released = True
        return agent.view()

    async def pause_reasons(self, tenant_id: int) -> list[str]:
        return list(self.reasons)

    async def agents(self, tenant_id: int) -> list[AgentView]:
        return [a.view() for (t, _), a in sorted(self.agent_records.items()) if t == tenant_id]

    async def agent_profile(self, tenant_id: int, user_id: int) -> AgentProfile:
        return self._agent(tenant_id, user_id).profile

    async def update_agent_profile(
        self, tenant_id: int, user_id: int, profile: AgentProfile
    ) -> AgentProfile:
        agent = self._agent(tenant_id, user_id)
        known = self.queue_configs.get(tenant_id, {})
        unknown = [name for name in profile.queues if name not in known]
        if unknown:
            raise ServiceError(
                ServiceErrorCode.INVALID, "unknown queue: " + ", ".join(unknown), "queues"
            )
        agent.profile = AgentProfile(dict(profile.skills), tuple(profile.queues))
        return agent.profile

    async def sync_user(self, tenant_id: int, user_id: int) -> None:
        self.synced_users.append(user_id)

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        agent = self._agent(tenant_id, user_id)
        return SipCredentials(
            ws_url=self.sip_ws_url,
            uri=f"sip:agent-{user_id}@127.0.0.1",
            authorization_user=f"agent-{user_id}",
            password=agent.sip_password,
            display_name=agent.name,
        )

    async def reset_sip_password(self, tenant_id: int, user_id: int) -> None:
        agent = self._agent(tenant_id, user_id)
        agent.sip_password = f"reset-{next(self._ids)}"

    async def calls_stored(self) -> None:
        """Nothing is queued here: every call is readable at once."""

    async def live_calls(self, tenant_id: int) -> list[LiveCall]:
        return [call for t, call in self.calls.values() if t == tenant_id]

    async def hangup(self, tenant_id: int, call_id: str) -> None:
        self._call(tenant_id, call_id)
        self.asked.append(("hangup", tenant_id, call_id))
        self.end(call_id)

    async def hold(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.TALKING:
            raise ServiceError(CONFLICT, "Only a call in progress can be held")
        self.asked.append(("hold", tenant_id, call_id))
        self._update_call(tenant_id, call, state=CallState.HELD, held=True)

    async def unhold(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        if not call.held:
            raise ServiceError(CONFLICT, "The call is not on hold")
        self.asked.append(("unhold", tenant_id, call_id))
        self._update_call(tenant_id, call, state=CallState.TALKING, held=False)

    async def mute(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        self.asked.append(("mute", tenant_id, call_id))
        self._update_call(tenant_id, call, muted=True)

    async def unmute(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        self.asked.append(("unmute", tenant_id, call_id))
        self._update_call(tenant_id, call, muted=False)

    async def transfer(
        self, tenant_id: int, call_id: str, kind: TransferKind, target: str, attended: bool
    ) -> None:
        call = self._call(tenant_id, call_id)
        self.asked.append(("transfer", tenant_id, call_id, kind, target, attended))
        if attended:
            self._update_call(tenant_id, call, state=CallState.CONSULTING)
        else:
            self.end(call_id)

    async def complete_transfer(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.CONSULTING:
            raise ServiceError(CONFLICT, "No attended transfer in progress")
        self.asked.append(("complete_transfer", tenant_id, call_id))
        self.end(call_id)

    async def cancel_transfer(self, tenant_id: int, call_id: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.CONSULTING:
            raise ServiceError(CONFLICT, "No attended transfer in progress")
        self.asked.append(("cancel_transfer", tenant_id, call_id))
        self._update_call(tenant_id, call, state=CallState.TALKING)

    async def move_waiting(self, tenant_id: int, call_id: str, queue: str, by: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.QUEUED:
            raise ServiceError(CONFLICT, "the call is with an agent: transfer it instead")
        self.asked.append(("move_waiting", tenant_id, call_id, queue, by))
        self._update_call(tenant_id, call, queue=queue)

    async def voicemail_waiting(self, tenant_id: int, call_id: str, by: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.QUEUED:
            raise ServiceError(CONFLICT, "the call is with an agent")
        self.asked.append(("voicemail_waiting", tenant_id, call_id, by))
        self.end(call_id)

    async def prioritize_waiting(self, tenant_id: int, call_id: str, priority: int,
                                 by: str) -> None:
        call = self._call(tenant_id, call_id)
        if call.state is not CallState.QUEUED:
            raise ServiceError(CONFLICT, "the call is with an agent")
        self.asked.append(("prioritize_waiting", tenant_id, call_id, priority, by))
        self._update_call(tenant_id, call, priority=priority)

    async def send_dtmf(self, tenant_id: int, call_id: str, digits: str) -> None:
        self._call(tenant_id, call_id)
        self.asked.append(("send_dtmf", tenant_id, call_id, digits))

    async def dial(self, tenant_id: int, user_id: int, number: str,
                   caller_id: str | None = None, call_id: str | None = None) -> str:
        agent = self._agent(tenant_id, user_id)
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise ServiceError(CONFLICT, "You are already on a call")
        call = self.add_call(
            tenant_id,
            call_id=call_id,
            agent_user_id=user_id,
            from_number=caller_id or f"agent-{user_id}",
            to_number=number,
            state=CallState.RINGING,
            queue=None,
            direction=Direction.OUTBOUND,
        )
        self.asked.append(("dial", tenant_id, user_id, number,
                           *([caller_id] if caller_id else [])))
        self.bus.publish(CALL_STATE, tenant_id, CallUpdated(**_fields(call)))
        return call.call_id

    async def queues(self, tenant_id: int) -> list[QueueConfig]:
        return list(self.queue_configs.get(tenant_id, {}).values())

    async def create_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        existing = self.queue_configs.setdefault(tenant_id, {})
        if config.name in existing:
            raise ServiceError(CONFLICT, f"A queue named {config.name} already exists")
        existing[config.name] = config
        return config

    async def update_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        existing = self.queue_configs.get(tenant_id, {})
        if config.name not in existing:
            raise ServiceError(NOT_FOUND, f"No queue named {config.name}")
        existing[config.name] = config
        return config

    async def queue_stats(self, tenant_id: int) -> list[QueueStats]:
        stats = []
        for name in self.queue_configs.get(tenant_id, {}):
            waiting = [
                call
                for t, call in self.calls.values()
                if t == tenant_id and call.queue == name and call.state is CallState.QUEUED
            ]
            members = [
                a
                for (t, _), a in self.agent_records.items()
                if t == tenant_id and name in a.profile.queues
            ]
            stats.append(
                QueueStats(
                    queue=name,
                    waiting=len(waiting),
                    oldest_waiting_since=min((c.started_at for c in waiting), default=None),
                    agents_logged_in=len(members),
                    agents_available=sum(a.state is AgentState.AVAILABLE for a in members),
                    offered_today=12,
                    answered_today=10,
                    abandoned_today=2,
                    answered_in_service_level_today=9,
                    handle_seconds_today=1830.0,
                    handled_today=12,  # two calls were handled by two agents each
                    service_level_today=0.75,  # the queue's formula, not 9 / 10
                )
            )
        return stats

    async def flows(self, tenant_id: int) -> list[FlowSummary]:
        out = []
        for (t, _name), versions in sorted(self.flow_versions.items()):
            if t == tenant_id:
                out.append(versions[-1][1])
        return out

    async def flow(self, tenant_id: int, name: str) -> FlowDocument:
        versions = self.flow_versions.get((tenant_id, name))
        if not versions:
            raise ServiceError(NOT_FOUND, f"No flow named {name}")
        return versions[-1][0]

    async def validate_flow(self, tenant_id: int, name: str, yaml_text: str) -> list[Problem]:
        _flowset, problems = check_sources([(f"{name}.yaml", yaml_text)])
        return problems

    async def apply_flow(
        self, tenant_id: int, name: str, yaml_text: str, user_id: int
    ) -> FlowSummary:
        problems = await self.validate_flow(tenant_id, name, yaml_text)
        if errors(problems):  # warnings do not refuse a flow
            raise FlowSetInvalid(problems)
        versions = self.flow_versions.setdefault((tenant_id, name), [])
        version = len(versions) + 1
        summary = FlowSummary(name, version, utc_now(), f"user {user_id}")
        versions.append((FlowDocument(name, version, yaml_text), summary))
        self.bus.publish(IVR_UPDATED, tenant_id, IvrUpdated(name, version, user_id, (name,)))
        return summary
