"""What the ACD core is told: calls, offers, agents and the passing of time, as plain values."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pbx_stasis.acd.model import AgentConfig, QueueConfig, Skills, frozen_skills


def _queue_names(queues: Collection[str]) -> frozenset[str]:
    # A bare string is a Collection too; "sales" must not become {"s", "a", "l", "e"}.
    return frozenset((queues,)) if isinstance(queues, str) else frozenset(queues)


# --- calls --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallArrived:
    """A caller asks to wait in `queue`.

    `skills` are the minimum levels required of the agent; `max_wait` overrides the queue's;
    `entered_at` keeps the original wait of a call adopted after a restart. `adopted`: a caller
    put back after a restart, whose stay goes on (journal ADOPTED, not a second ENTERQUEUE; the
    queue admitted them once already, so join_empty and max_callers are not applied again).
    """

    call_id: str
    queue: str
    caller: str = ""
    priority: int = 0
    skills: Skills = field(default_factory=dict, hash=False)
    max_wait: float | None = None
    entered_at: float | None = None
    adopted: bool = False
    # A campaign's customer (campaigns/dialer.py): the campaign's id, on every row of the call;
    # outbound work, in no queue's figures (docs/figures.md, "Campaign calls").
    campaign: int | None = None
    # The Asterisk node the caller is on (a cluster; None: one node): only agents reachable
    # from it are offered the call (acd/reach.py).
    node: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", frozen_skills(self.skills))


@dataclass(frozen=True)
class TalkAdopted:
    """A caller and an agent were talking when the app stopped (the CONNECT row says when):
    the call is connected again as it was, so its end completes it (COMPLETECALLER or
    COMPLETEAGENT, talk counted from `connected_at`) and the agent is on a call meanwhile.
    `ended`: the conversation ended while the app was away; it is completed at once (its end
    is only known now), without wrap-up. `outbound`: the agent's own outside call (journal
    OUTCONNECT), `queue` the one it was done for ("" for none), `caller` the number called.
    `campaign`: a campaign's customer (its CONNECT row's), still outbound work.
    `connect_lost`: the journal has no CONNECT for it (the dead process's last rows, never
    written): the talk is found in Asterisk's bridges, and its CONNECT is written now, at
    `connected_at`, so the journal has one for each call answered."""

    call_id: str
    queue: str
    agent_id: str
    connected_at: float
    entered_at: float
    caller: str = ""
    orig_position: int = 0
    ended: bool = False
    outbound: bool = False
    campaign: int | None = None
    connect_lost: bool = False


@dataclass(frozen=True)
class OutboundDialled:
    """An agent places an outside call (their phone dialled, or click-to-call): journal OUTDIAL,
    the outbound figures' "placed"."""

    call_id: str
    agent_id: str
    number: str


@dataclass(frozen=True)
class OutboundConnected:
    """The number an agent called answered: the agent is on that call (journal OUTCONNECT), which
    ends like a queue call (CallerHungUp: the far end, AgentHungUp: the agent, transfers) with
    a wrap-up. `queue` (a queue key, or None) is the queue it is done for: its wrap-up time
    applies; the figures count the call as the agent's outbound work, in no queue."""

    call_id: str
    agent_id: str
    number: str
    queue: str | None = None


@dataclass(frozen=True)
class CallAway:
    """A call the dialplan held while the app was away and let go without it (`why`: refused
    at the end of the hold, or abandoned: the caller hung up), on its way to `queue` (the
    queue its number leads to): offered there and unanswered (journal AWAY, at `ended_at`)."""

    call_id: str
    queue: str
    caller: str
    entered_at: float
    ended_at: float
    why: str


@dataclass(frozen=True)
class CallerHungUp:
    """The caller's channel is gone, whatever the call was doing."""

    call_id: str


@dataclass(frozen=True)
class AgentHungUp:
    """The agent's side of a connected call hung up (the runner then hangs up the caller)."""

    call_id: str
    agent_id: str


@dataclass(frozen=True)
class TransferToQueue:
    """Move a call (connected or waiting) into another queue, keeping its priority and skills."""

    call_id: str
    queue: str


@dataclass(frozen=True)
class CallTransferred:
    """The call left the ACD by a transfer to `target` (an agent, a number, a flow)."""

    call_id: str
    target: str
    attended: bool = False


@dataclass(frozen=True)
class ConsultTaken:
    """An attended transfer to an agent completed: the agent consulted (`agent_id`, on the leg
    the runner names `leg_id`, a negative offer id) takes the call over in `queue`, their
    personal queue. The first agent's part ends (TRANSFER, wrap-up); theirs begins (CONNECT)."""

    call_id: str
    agent_id: str
    queue: str
    leg_id: int


@dataclass(frozen=True)
class PriorityChanged:
    """A supervisor raised (or lowered) a waiting call's priority: it moves up its queue."""

    call_id: str
    priority: int


@dataclass(frozen=True)
class CallHeld:
    call_id: str


@dataclass(frozen=True)
class CallResumed:
    call_id: str


# --- offers: the answer to an Offer action ------------------------------------------------------


@dataclass(frozen=True)
class OfferAnswered:
    offer_id: int
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferRejected:
    """The agent declined or was busy (e.g. SIP 486/603)."""

    offer_id: int
    call_id: str
    agent_id: str
    reason: str = "declined"


@dataclass(frozen=True)
class OfferFailed:
    """The agent's channel could not be created or failed before answering."""

    offer_id: int
    call_id: str
    agent_id: str
    reason: str = "failed"


# --- agents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentLogin:
    """Log an agent into some queues (in addition to those they are already in)."""

    agent_id: str
    queues: Collection[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", _queue_names(self.queues))


@dataclass(frozen=True)
class AgentLogout:
    """Log an agent out of some queues; None: out of all of them."""

    agent_id: str
    queues: Collection[str] | None = None

    def __post_init__(self) -> None:
        if self.queues is not None:
            object.__setattr__(self, "queues", _queue_names(self.queues))


@dataclass(frozen=True)
class AgentPause:
    """Pause an agent in all their queues (a new reason replaces the old one)."""

    agent_id: str
    reason: str = ""


@dataclass(frozen=True)
class AgentUnpause:
    agent_id: str


@dataclass(frozen=True)
class AgentRegistered:
    """The agent's endpoint is reachable (PJSIP contact online) from some node.

    `unreachable_on`: the Asterisk nodes that say they cannot reach it (acd/reach.py): callers
    on those nodes are not offered the agent (their leg is originated on the caller's node).
    """

    agent_id: str
    unreachable_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AgentUnregistered:
    """The agent's endpoint is unreachable: they cannot be offered calls."""

    agent_id: str


@dataclass(frozen=True)
class WrapUpDone:
    """The agent finished wrap-up early (e.g. set the disposition)."""

    agent_id: str


# --- configuration and time ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueueConfigChanged:
    """Add a queue or replace its configuration; waiting callers keep their place."""

    queue: QueueConfig


@dataclass(frozen=True)
class AgentConfigChanged:
    """Add an agent or replace their configuration (skills, penalties, endpoint...)."""

    agent: AgentConfig


# --- callbacks (a virtual waiting entry: the customer is called when it reaches the front) ------


@dataclass(frozen=True)
class CallbackRequested:
    """A waiting caller asked to be called back at `number`: the callback `callback_id` takes
    their place in the queue (their arrival, their position), and their stay ends."""

    call_id: str
    callback_id: str
    number: str
    contact: str = ""  # a name to show the agent, when known


@dataclass(frozen=True)
class CallbackQueued:
    """A callback joins `queue` as if it had arrived at `entered_at`: a scheduled one that is
    due, one asked through the API, or one put back after a restart (`adopted`: no new entry).
    `attempts` already made; until `not_before` it rests (its retry delay)."""

    callback_id: str
    queue: str
    number: str
    entered_at: float
    contact: str = ""
    priority: int = 0
    attempts: int = 0
    not_before: float | None = None
    adopted: bool = False


@dataclass(frozen=True)
class CallbackAnswered:
    """The customer of a callback the core asked to dial (DialCallback) answered."""

    callback_id: str


@dataclass(frozen=True)
class CallbackFailed:
    """The customer's leg did not answer (`reason`: busy, no_answer, failed, not_allowed...).
    `final`: no retry whatever the attempts left (the dialling policy refused the number)."""

    callback_id: str
    reason: str
    final: bool = False


@dataclass(frozen=True)
class CallbackCancelled:
    """Someone cancelled a callback that has not been dialled yet."""

    callback_id: str


@dataclass(frozen=True)
class Tick:
    """Time passed: fire what is due. Send one at `Acd.next_deadline()`."""


AcdInput = (
    CallArrived
    | TalkAdopted
    | OutboundDialled
    | OutboundConnected
    | CallAway
    | CallerHungUp
    | AgentHungUp
    | TransferToQueue
    | CallTransferred
    | ConsultTaken
    | PriorityChanged
    | CallHeld
    | CallResumed
    | OfferAnswered
    | OfferRejected
    | OfferFailed
    | AgentLogin
    | AgentLogout
    | AgentPause
    | AgentUnpause
    | AgentRegistered
    | AgentUnregistered
    | WrapUpDone
    | QueueConfigChanged
    | AgentConfigChanged
    | CallbackRequested
    | CallbackQueued
    | CallbackAnswered
    | CallbackFailed
    | CallbackCancelled
    | Tick
)

__all__ = [
    "AcdInput",
    "AgentConfigChanged",
    "AgentHungUp",
    "AgentLogin",
    "AgentLogout",
    "AgentPause",
    "AgentRegistered",
    "AgentUnpause",
    "AgentUnregistered",
    "CallArrived",
    "CallAway",
    "CallHeld",
    "CallResumed",
    "CallTransferred",
    "CallbackAnswered",
    "CallbackCancelled",
    "CallbackFailed",
    "CallbackQueued",
    "CallbackRequested",
    "CallerHungUp",
    "ConsultTaken",
    "OfferAnswered",
    "OfferFailed",
    "OfferRejected",
    "OutboundConnected",
    "OutboundDialled",
    "PriorityChanged",
    "QueueConfigChanged",
    "TalkAdopted",
    "Tick",
    "TransferToQueue",
    "WrapUpDone",
]
