"""What the ACD core asks of its runner, and the journal rows it writes, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from pbx_stasis.acd.model import AgentState, OverflowTarget

# --- the caller's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class StartMoh:
    """Put the caller in the queue's holding bridge with music on hold (idempotent)."""

    call_id: str
    queue: str
    moh_class: str


@dataclass(frozen=True)
class Announce:
    """Tell the waiting caller their position and, when known, the estimated wait (seconds)."""

    call_id: str
    queue: str
    position: int
    estimated_wait: float | None
    callback_key: str | None = None  # offer it: "press <key> to be called back"


# --- offers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """Ring `endpoint` for the call, showing `caller`; answer with OfferAnswered/Rejected/Failed.

    The core times the offer out itself after `timeout` seconds (then sends CancelOffer).
    """

    offer_id: int
    call_id: str
    agent_id: str
    endpoint: str
    caller: str
    queue: str
    timeout: float
    callback: str | None = None  # a callback: the agent is about to call this number


@dataclass(frozen=True)
class CancelOffer:
    """Hang up the agent's leg of this offer (unanswered, or answered too late)."""

    offer_id: int
    call_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True)
class Connect:
    """The offer was answered: stop MOH, bridge the caller with this offer's agent leg."""

    offer_id: int
    call_id: str
    agent_id: str
    queue: str


@dataclass(frozen=True)
class DialCallback:
    """The agent answered a callback's offer (they are reserved for it): dial the customer at
    `number` through the trunk and bridge them with this offer's agent leg. Answer with
    CallbackAnswered or CallbackFailed; later CallerHungUp / AgentHungUp as for any talk."""

    offer_id: int
    call_id: str  # the callback's id
    agent_id: str
    queue: str
    number: str
    attempt: int  # 1 for the first dial


# --- calls leaving the core (the runner carries on with the call's flow) ------------------------


@dataclass(frozen=True)
class Overflow:
    """The call waited `max_wait` and left the queue; `target` says where it should go next."""

    call_id: str
    queue: str
    target: OverflowTarget | None


@dataclass(frozen=True)
class RejectJoin:
    """The call could not join `queue` (reason: unknown-queue, empty, full)."""

    call_id: str
    queue: str
    reason: str
    target: OverflowTarget | None


@dataclass(frozen=True)
class LeaveEmpty:
    """The queue became empty under its leave_empty policy; the call left it."""

    call_id: str
    queue: str
    target: OverflowTarget | None


# --- agents and the journal ---------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStateChanged:
    agent_id: str
    state: AgentState
    reason: str  # the pause reason, "unregistered", "logged out", or ""
    since: float


class CallEnd(StrEnum):
    """How a call left the core (`CallEnded`)."""

    COMPLETED = "completed"  # talked, then the caller or the agent hung up
    TRANSFERRED = "transferred"  # a transfer the runner asked for (CallTransferred)
    ABANDONED = "abandoned"  # the caller hung up while waiting
    CALLBACK = "callback"  # the caller asked to be called back: a callback took their place
    CALLBACK_FAILED = "callback-failed"  # a callback's attempts are spent (or it was refused)
    CALLBACK_CANCELLED = "callback-cancelled"


@dataclass(frozen=True)
class CallEnded:
    """The call left the core by an event the runner sent (hangup, CallTransferred): settle it.

    `agent_id`: who talked with the caller (COMPLETED only)."""

    call_id: str
    how: CallEnd
    agent_id: str | None = None


@dataclass(frozen=True)
class ReleaseAgentLeg:
    """The agent is done with this call (the caller hung up, or it was transferred): hang up
    their leg, which may be gone already; the call no longer has an agent."""

    call_id: str
    agent_id: str


@dataclass(frozen=True)
class WrapUpStarted:
    """The agent's wrap-up after `call_id` (in `queue`) runs until `until` (epoch seconds)."""

    agent_id: str
    call_id: str
    queue: str | None  # None: after an agent's outbound call done for no queue
    until: float


class JournalEvent(StrEnum):
    """Journal row names; most are app_queue's queue_log events (see queue_log.py)."""

    ENTERQUEUE = "ENTERQUEUE"
    JOINEMPTY = "JOINEMPTY"  # refused by join_empty (no ENTERQUEUE before it)
    FULL = "FULL"  # refused by max_callers (no ENTERQUEUE before it)
    OFFER = "OFFER"
    RINGNOANSWER = "RINGNOANSWER"  # no answer, declined or failed: counts as missed
    RINGCANCELED = "RINGCANCELED"  # stopped by the core: caller left, another agent answered...
    CONNECT = "CONNECT"
    COMPLETECALLER = "COMPLETECALLER"
    COMPLETEAGENT = "COMPLETEAGENT"
    ABANDON = "ABANDON"
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"
    EXITEMPTY = "EXITEMPTY"
    TRANSFER = "TRANSFER"
    HOLD = "HOLD"
    UNHOLD = "UNHOLD"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    WRAPUPSTART = "WRAPUPSTART"
    WRAPUPEND = "WRAPUPEND"
    # A stay or a talk carried over a restart of the app: it goes on, it is no new entry.
    ADOPTED = "ADOPTED"
    # Callbacks (docs/figures.md): a waiting caller's stay ends with one (not an abandon)...
    CALLBACKREQ = "CALLBACKREQ"
    CALLBACKQUEUED = "CALLBACKQUEUED"  # ... or one joins a queue (scheduled, API, restart)
    CALLBACKDIAL = "CALLBACKDIAL"  # an agent is reserved, the customer dialled
    CALLBACKCONNECT = "CALLBACKCONNECT"  # the customer answered: the agent's talk begins
    CALLBACKFAIL = "CALLBACKFAIL"  # not answered: retried later, or `final`
    CALLBACKCANCEL = "CALLBACKCANCEL"
    # An agent's own outside call: placed (dialled), then connected (the number answered); its
    # part ends with COMPLETECALLER (the far end), COMPLETEAGENT or TRANSFER, `outbound` true.
    OUTDIAL = "OUTDIAL"
    OUTCONNECT = "OUTCONNECT"
    # A call the dialplan held while the app was away and let go without it (refused at the
    # end of the hold, or its caller hung up): offered in its number's queue, unanswered.
    AWAY = "AWAY"


# The rows that end a call's stay in a queue: exactly one per ENTERQUEUE.
QUEUE_EXITS = frozenset(
    {
        JournalEvent.COMPLETECALLER,
        JournalEvent.COMPLETEAGENT,
        JournalEvent.ABANDON,
        JournalEvent.EXITWITHTIMEOUT,
        JournalEvent.EXITEMPTY,
        JournalEvent.TRANSFER,
    }
)

JournalValue = str | int | float | bool | None


@dataclass(frozen=True)
class JournalRow:
    """One row for call_events. Times in `data` are seconds (ring_ms: milliseconds).

    Per event, `data` holds: ENTERQUEUE caller, priority, position; JOINEMPTY/FULL caller,
    priority; OFFER offer_id, timeout; RINGNOANSWER/RINGCANCELED offer_id, ring_ms, reason;
    CONNECT offer_id, wait, ring, position, orig_position (restored: written at a takeover,
    the dead process's own lost); COMPLETECALLER/COMPLETEAGENT wait, talk,
    orig_position; ABANDON/EXITWITHTIMEOUT/EXITEMPTY position, orig_position, wait; TRANSFER
    target, kind (blind, attended, queue), wait, talk, orig_position; PAUSE reason, auto;
    UNPAUSE reason (the one that ended); WRAPUPSTART seconds; WRAPUPEND seconds, early;
    ADOPTED action (queue: a waiting caller put back, with position, wait so far; talk: a
    conversation carried over, with the agent, connected_at); COMPLETECALLER ended_away (the
    conversation ended while the app was away: its end is when the app came back).
    CALLBACKREQ callback (its id), number, position, orig_position, wait (on the caller's
    call); CALLBACKQUEUED number, attempts, position, adopted, entered_at; CALLBACKDIAL offer_id,
    number, attempt, wait; CALLBACKCONNECT number, attempt, wait; CALLBACKFAIL reason, attempt,
    final, retry_at; CALLBACKCANCEL wait (all four on the callback's id); AWAY caller, wait,
    why (refused, abandoned).
    """

    event: JournalEvent
    at: float
    call_id: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    data: Mapping[str, JournalValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


Action = (
    StartMoh
    | Announce
    | Offer
    | CancelOffer
    | Connect
    | DialCallback
    | Overflow
    | RejectJoin
    | LeaveEmpty
    | AgentStateChanged
    | CallEnded
    | ReleaseAgentLeg
    | WrapUpStarted
    | JournalRow
)

# Actions after which the core has forgotten the call: the runner owns it again.
EXIT_ACTIONS = (Overflow, RejectJoin, LeaveEmpty)
