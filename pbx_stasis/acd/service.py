"""The ACD's interface, declared once: what the web pages need from the agents, their calls and
the queues (AcdControl), and the values it returns.

Tenant ids are always the caller's own (taken from the session); an implementation must still
refuse (ServiceError NOT_FOUND) an id of another tenant. Its one error type is the kernel's
`pbx_stasis.web.contract.ServiceError`, which the route table answers with a status.
`center.live.LiveContactCenter` implements it (with the IVR's FlowControl: the contact center,
`center.service.ContactCenter`) over the running Stasis app; a web process of its own gets a
proxy generated from it (pbx_stasis.remote).

Bus events (acd/topics.py, calls/events.py): the feed sends each as the JSON of these values
(`bus.encode`, as `web.contract.to_json`):
- `agent:state`: AgentStateChanged (an AgentView), for every change of an agent's state.
- `queue:stats`: QueueStatsChanged (a QueueStats), for every change of a queue's figures.
- `call:incoming`: CallRinging (LiveCall's fields), when a call is offered to an agent
  (`agent_user_id` is that agent).
- `call:state`: CallUpdated (LiveCall's fields), when a call changes (answered, held, muted,
  queued, transferred...).
- `call:ended`: CallEnded, LiveCall's fields with `state` "ended", `cause` and `by`.
Agents only receive `agent:state` and `call:*` events whose `user_id` / `agent_user_id` is
theirs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pbx_stasis.acd.model import AgentState, QueueConfig
from pbx_stasis.calls.events import CallView
from pbx_stasis.remote.interfaces import Interface
from pbx_stasis.web.contract import ServiceError


class SettableState(enum.StrEnum):
    """The states an agent may choose; the others (ringing, on-call, wrap-up) follow calls."""

    AVAILABLE = "available"
    PAUSED = "paused"
    OFFLINE = "offline"


class CallState(enum.StrEnum):
    IVR = "ivr"  # in an IVR flow
    QUEUED = "queued"  # waiting in a queue
    RINGING = "ringing"  # offered to an agent, or an outbound call ringing the far end
    TALKING = "talking"  # bridged with an agent
    HELD = "held"  # the agent put the caller on hold (MOH)
    CONSULTING = "consulting"  # attended transfer: the agent talks to the transfer target
    ENDED = "ended"


class TransferKind(enum.StrEnum):
    AGENT = "agent"  # target: the user id of an agent of the tenant, as text
    QUEUE = "queue"  # target: a queue name
    NUMBER = "number"  # target: a number to dial out through the trunk


@dataclass(frozen=True)
class AgentView:
    """An agent as pages show it. Datetimes are aware (UTC)."""

    user_id: int
    name: str
    state: AgentState
    since: datetime  # when the agent entered `state`
    reason: str | None = None  # the pause reason; "no answer" after missed offers
    call_id: str | None = None  # the call ringing, in progress, or in wrap-up
    wrapup_ends_at: datetime | None = None  # when the queue's wrap-up time is over
    calls_today: int = 0
    registered: bool = False  # the agent's SIP endpoint has a contact
    queues: tuple[str, ...] = ()  # the queues the agent is logged into
    # The queues the agent belongs to, logged in or not: none for a supervisor who has a
    # softphone only to listen, whisper and barge (the wallboard lists members only).
    member_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentProfile:
    """What an admin sets on an agent: skill levels (0-100) and queue memberships."""

    skills: Mapping[str, int] = field(default_factory=dict)
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class SipCredentials:
    """How the agent's browser softphone registers; handed to that agent only."""

    ws_url: str  # e.g. wss://pbx.example.com:8089/ws
    uri: str  # sip:agent-17@pbx.example.com
    authorization_user: str
    password: str
    display_name: str


@dataclass(frozen=True, kw_only=True)
class LiveCall(CallView):
    """A live call as GET /api/calls gives it: the call events' fields (calls/events.py), its
    state one of the ACD's."""

    state: CallState


@dataclass(frozen=True)
class QueueStats:
    """A queue's live figures (acd/figures.py); the `_today` ones count since midnight."""

    queue: str
    waiting: int
    oldest_waiting_since: datetime | None
    agents_logged_in: int
    agents_available: int
    offered_today: int
    answered_today: int
    abandoned_today: int
    answered_in_service_level_today: int
    handle_seconds_today: float  # talk + hold + wrap-up of the agents' parts ended today
    handled_today: int = 0  # agents' parts ended today (AHT = handle_seconds / handled)
    service_level_today: float | None = None  # by the queue's formula (docs/figures.md)
    callbacks_waiting: int = 0  # callbacks in the queue not dialled yet (waiting work)
    callbacks_today: int = 0  # callbacks that joined it today (none is an abandon)


class AcdControl(Protocol):
    """The ACD's operations behind the web pages and API: agents, their calls, queues."""

    # --- agents -----------------------------------------------------------------------------

    async def agent_status(self, tenant_id: int, user_id: int) -> AgentView:
        """The agent's current state; NOT_FOUND when the user is no agent of the tenant."""
        ...

    async def set_agent_state(
        self, tenant_id: int, user_id: int, state: SettableState, reason: str | None
    ) -> AgentView:
        """Go available, paused (`reason` is one of pause_reasons) or offline.

        From wrap-up the web layer only asks once the call has its disposition (it saved it and
        called complete_wrapup); CONFLICT while ringing or on a call.
        """
        ...

    async def complete_wrapup(self, tenant_id: int, user_id: int, call_id: str) -> AgentView:
        """The agent saved the disposition of `call_id`: wrap-up may end when its time is over
        (at once if it already is). The ACD must not end wrap-up before this is called."""
        ...

    async def pause_reasons(self, tenant_id: int) -> list[str]:
        """The pause reasons agents choose from (break, lunch, training...)."""
        ...

    async def agents(self, tenant_id: int) -> list[AgentView]:
        """Every agent of the tenant, for the wallboard and the transfer list."""
        ...

    async def agent_profile(self, tenant_id: int, user_id: int) -> AgentProfile: ...

    async def update_agent_profile(
        self, tenant_id: int, user_id: int, profile: AgentProfile
    ) -> AgentProfile:
        """Replace skills and queue memberships; INVALID (field "queues") for unknown queues."""
        ...

    async def sync_user(self, tenant_id: int, user_id: int) -> None:
        """A user was created, changed role, or was disabled/enabled: provision or remove their
        SIP endpoint and agent accordingly."""
        ...

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        """The user's own WebRTC endpoint; NOT_FOUND when they have none."""
        ...

    async def reset_sip_password(self, tenant_id: int, user_id: int) -> None:
        """Give the endpoint a new random password (registered phones must register again)."""
        ...

    # --- calls ------------------------------------------------------------------------------

    async def live_calls(self, tenant_id: int) -> list[LiveCall]: ...

    async def calls_stored(self) -> None:
        """Until the rows the call path has queued so far (calls and their journal lines) are
        stored: a reader in another process reads a call's row next (an agent's page asks for
        the call it is offered a few ms after the call began; store/writer.py)."""
        ...

    async def hangup(self, tenant_id: int, call_id: str) -> None: ...

    async def move_waiting(self, tenant_id: int, call_id: str, queue: str, by: str) -> None:
        """A supervisor moves a waiting caller to another queue of the tenant (`by`: who)."""
        ...

    async def prioritize_waiting(self, tenant_id: int, call_id: str, priority: int,
                                 by: str) -> None:
        """A supervisor sets a waiting caller's priority (higher first)."""
        ...

    async def voicemail_waiting(self, tenant_id: int, call_id: str, by: str) -> None:
        """A supervisor sends a waiting caller to their queue's mailbox."""
        ...

    async def hold(self, tenant_id: int, call_id: str) -> None:
        """Put the caller on hold: they hear music on hold, the agent stays on the line."""
        ...

    async def unhold(self, tenant_id: int, call_id: str) -> None: ...

    async def mute(self, tenant_id: int, call_id: str) -> None:
        """Stop the agent's audio reaching the caller."""
        ...

    async def unmute(self, tenant_id: int, call_id: str) -> None: ...

    async def transfer(
        self, tenant_id: int, call_id: str, kind: TransferKind, target: str, attended: bool
    ) -> None:
        """Blind: the call goes to `target` and the agent leaves it. Attended: the caller is held
        while the agent talks to the target, then complete_transfer or cancel_transfer."""
        ...

    async def complete_transfer(self, tenant_id: int, call_id: str) -> None: ...

    async def cancel_transfer(self, tenant_id: int, call_id: str) -> None:
        """Drop the consultation and take the caller back."""
        ...

    async def send_dtmf(self, tenant_id: int, call_id: str, digits: str) -> None:
        """Send digits (0-9 * # A-D) to the far end of the call."""
        ...

    async def dial(self, tenant_id: int, user_id: int, number: str,
                   caller_id: str | None = None, call_id: str | None = None) -> str:
        """Call `number` for the agent: ring the agent's phone, then the number through the trunk,
        presenting `caller_id` (one of the tenant's outbound numbers, else INVALID on the field
        `caller_id`; None: the default rule, docs/dialing.md). Returns the call id: `call_id`
        when given (a preview campaign's attempt knows its call before it starts), else new.
        The INVITE to the agent's phone carries `X-PBX-Call-Id` and `X-PBX-Auto-Answer: yes`
        headers so the softphone answers it by itself."""
        ...

    # --- queues -----------------------------------------------------------------------------

    async def queues(self, tenant_id: int) -> list[QueueConfig]: ...

    async def create_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        """CONFLICT when the name is taken."""
        ...

    async def update_queue(self, tenant_id: int, config: QueueConfig) -> QueueConfig:
        """Replace the queue named `config.name`; waiting callers stay. NOT_FOUND if none."""
        ...

    async def queue_stats(self, tenant_id: int) -> list[QueueStats]: ...


# AcdControl as a web process of its own reaches it (pbx_stasis.remote).
ACD_SERVICE: Interface[AcdControl] = Interface("acd", AcdControl, ServiceError,
                                               ServiceError.rebuild)


class DispositionCheck(Protocol):
    """Whether a call's wrap-up outcome is saved: an agent leaves wrap-up only once it is, or
    when the tenant has no disposition to choose from. The CRM keeps the outcomes
    (crm.dispositions.Outcomes); the ACD's routes ask through this."""

    async def has_disposition(self, tenant_id: int, call_id: str,
                              user_id: int | None = None) -> bool:
        """Saved (by `user_id` for their part, when given), or none to choose."""
        ...
