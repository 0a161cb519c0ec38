"""Queue and agent configuration as immutable values, and the names of states and strategies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

Skills = Mapping[str, int]  # skill name -> level (agent) or minimum level (call)


def frozen_skills(skills: Mapping[str, int]) -> Skills:
    """A read-only copy, so configs and events stay values once built."""
    return MappingProxyType(dict(skills))


class Strategy(StrEnum):
    """How a queue picks among the agents free to take a call."""

    RINGALL = "ringall"  # every free agent of the best tier rings; the first answer wins
    LONGEST_IDLE = "longest-idle"  # the agent whose last call ended longest ago
    FEWEST_CALLS = "fewest-calls"  # the agent with the fewest calls today, then longest idle
    ROUND_ROBIN = "round-robin"  # the next agent after the last one offered, in `agent_order`
    RANDOM = "random"  # uniformly among the free agents of the best tier
    LINEAR = "linear"  # always the first free agent in `agent_order`


class EmptyPolicy(StrEnum):
    """When a queue counts as empty, for joining (`join_empty`) or staying (`leave_empty`)."""

    NEVER = "never"  # never empty: callers join and stay whatever the agents do
    NO_MEMBERS = "no-members"  # no agent logged in
    NO_REACHABLE = "no-reachable"  # no logged-in agent both registered and unpaused
    NO_AVAILABLE = "no-available"  # no logged-in agent available or ringing right now


class OverflowKind(StrEnum):
    QUEUE = "queue"  # another queue of this ACD: the core moves the call itself
    FLOW = "flow"  # an IVR flow, by name
    VOICEMAIL = "voicemail"  # a mailbox
    MESSAGE_HANGUP = "message-hangup"  # play a sound, then hang up


class ServiceLevelMode(StrEnum):
    """Which callers a queue's service level counts (docs/figures.md; T: `service_level`)."""

    ANSWERED = "answered"  # app_queue's SL: answered within T / answered
    # app_queue's SL2: (answered within T + unanswered within T) / (answered + unanswered)
    ANSWERED_AND_ABANDONED = "answered-and-abandoned"
    # answered within T / (answered + unanswered - short abandons)
    WITHOUT_SHORT_ABANDONS = "without-short-abandons"


@dataclass(frozen=True)
class OverflowTarget:
    """Where a call goes when its queue cannot serve it (max wait, empty, full)."""

    kind: OverflowKind
    target: str


@dataclass(frozen=True)
class EscalationStep:
    """From `after` seconds of waiting, the requirement a call's agents must meet.

    Steps are absolute, not cumulative: `relax` is subtracted from every required skill level
    (a relax at least as high as the level drops the skill), and only agents whose penalty in the
    queue is at most `max_penalty` are offered the call (None: any penalty).
    """

    after: float
    relax: int = 0
    max_penalty: int | None = None


@dataclass(frozen=True)
class QueueConfig:
    """A queue as configured; times are seconds."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: float = 15.0
    # After an agent misses an offer (no answer, declined, failed), they are not offered any call
    # for this long; the caller is tried on the next agent at once.
    retry_delay: float = 5.0
    max_wait: float | None = None
    overflow: OverflowTarget | None = None
    max_callers: int | None = None
    join_empty: EmptyPolicy = EmptyPolicy.NEVER
    leave_empty: EmptyPolicy = EmptyPolicy.NEVER
    wrapup: float = 0.0
    autopause_after: int | None = 3  # consecutive missed offers; None: never
    ring_in_use: bool = False  # offer calls to agents already on a call
    moh_class: str = "default"
    announce_every: float | None = None  # position / estimated wait announcements
    max_penalty: int | None = None  # before any escalation step
    escalation: tuple[EscalationStep, ...] = ()
    agent_order: tuple[str, ...] = ()  # agent ids, for linear and round-robin; others follow by id
    weight: int = 0  # when an agent is free for several queues, the heaviest queue's caller first
    service_level: float = 20.0  # answered within this many seconds counts as in service level
    service_level_mode: ServiceLevelMode = ServiceLevelMode.WITHOUT_SHORT_ABANDONS
    # A caller who leaves unanswered within this many seconds is a short abandon; None: T.
    short_abandon: float | None = None
    # The number a call of this queue presents when an agent transfers it to an outside number
    # (one of the tenant's outbound numbers, dialing/caller_ids.py); None: the caller's own.
    caller_id: str | None = None
    # Queued callbacks: the key a waiting caller presses to be called back, offered in the
    # announcements (None: not offered); a callback not answered (busy, no answer) is tried
    # again after `callback_retry_delay` seconds, up to `callback_attempts` dials in all.
    callback_key: str | None = None
    callback_attempts: int = 3
    callback_retry_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.ring_timeout <= 0:
            raise ValueError(f"queue {self.name}: ring_timeout must be positive")
        if self.retry_delay < 0 or self.wrapup < 0:
            raise ValueError(f"queue {self.name}: retry_delay and wrapup must not be negative")
        if self.max_wait is not None and self.max_wait <= 0:
            raise ValueError(f"queue {self.name}: max_wait must be positive")
        if self.announce_every is not None and self.announce_every <= 0:
            raise ValueError(f"queue {self.name}: announce_every must be positive")
        if self.short_abandon is not None and not self.short_abandon >= 0:
            raise ValueError(f"queue {self.name}: short_abandon must not be negative")
        if self.callback_attempts < 1 or self.callback_retry_delay < 0:
            raise ValueError(f"queue {self.name}: callback_attempts must be at least 1 and "
                             "callback_retry_delay not negative")
        if self.autopause_after is not None and self.autopause_after < 1:
            raise ValueError(f"queue {self.name}: autopause_after must be at least 1")
        afters = [step.after for step in self.escalation]
        if afters != sorted(afters) or any(a < 0 or math.isnan(a) for a in afters):
            raise ValueError(f"queue {self.name}: escalation steps must be in increasing `after`")


@dataclass(frozen=True)
class AgentConfig:
    """An agent as configured: who they are, where to ring them, what they know."""

    id: str
    endpoint: str  # e.g. PJSIP/agent-1001
    name: str = ""
    skills: Skills = field(default_factory=dict, hash=False)
    # queue -> penalty: lower tiers are offered calls first
    penalties: Mapping[str, int] = field(default_factory=dict, hash=False)
    wrapup: float | None = None  # overrides the queue's wrap-up time

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", frozen_skills(self.skills))
        object.__setattr__(self, "penalties", MappingProxyType(dict(self.penalties)))
        if self.wrapup is not None and self.wrapup < 0:
            raise ValueError(f"agent {self.id}: wrapup must not be negative")

    def penalty(self, queue: str) -> int:
        return self.penalties.get(queue, 0)


class AgentState(StrEnum):
    OFFLINE = "offline"  # logged out of every queue, or phone unregistered
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"


AUTOPAUSE_REASON = "no answer"


# Real queue names are letters, digits, - and _ (acd/settings.py, web/queues.py): a name with
# this mark is an agent's personal queue, which carries a blind transfer to that agent.
PERSONAL_QUEUE_MARK = "@"


def personal_queue(username: str) -> str:
    """The name of the queue of one agent that transfers to them go through."""
    return f"{PERSONAL_QUEUE_MARK}{username}"


def is_personal_queue(name: str) -> bool:
    """True for a personal queue's name or key (a queue of no figures of its own)."""
    return PERSONAL_QUEUE_MARK in name


def utc_day(at: float) -> int:
    """The default calendar for "today" counters: days since the epoch, in UTC.

    Inject a local one (e.g. `datetime.fromtimestamp(at, zone).toordinal()`) for a site's midnight.
    """
    return math.floor(at / 86400)
