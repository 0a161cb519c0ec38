"""IVR flows as immutable values: nodes, prompts, schedules, and the FlowSet a call runs on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo

from pbx_stasis.ivr.expr import Condition, Template, Value

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_MAX_STEPS = 200

# --- prompts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptRef:
    """A logical prompt of the flow's `prompts` table, in the call's language unless pinned."""

    name: str
    language: str | None = None


@dataclass(frozen=True)
class Sound:
    """An Asterisk sound by its own name (e.g. `hello-world`); Asterisk picks the language."""

    name: Template


@dataclass(frozen=True)
class Digits:
    """Say a value digit by digit (ARI media `digits:`)."""

    value: Template


@dataclass(frozen=True)
class Number:
    """Say a value as a number (ARI media `number:`)."""

    value: Template


PromptItem = PromptRef | Sound | Digits | Number


@dataclass(frozen=True)
class PromptFile:
    """One language's recording of a logical prompt: a sound name below sounds/<lang>/."""

    file: str
    text: str | None = None


# --- schedules ----------------------------------------------------------------------------------

TimeRange = tuple[int, int]  # minutes since midnight, [start, end)


@dataclass(frozen=True)
class ScheduleException:
    """Dated opening hours (a holiday when `hours` is empty) from `first` to `last` inclusive."""

    first: date
    last: date
    hours: tuple[TimeRange, ...]
    name: str = ""


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    weekly: tuple[tuple[TimeRange, ...], ...]  # 7 entries, Monday first
    exceptions: tuple[ScheduleException, ...]

    def check(self, now: datetime) -> tuple[bool, ScheduleException | None]:
        """Is it open at `now` (an aware datetime)? Also the dated exception that decided it."""
        local = now.astimezone(self.timezone)
        minute = local.hour * 60 + local.minute
        day = local.date()
        for exc in self.exceptions:
            if exc.first <= day <= exc.last:
                return _within(exc.hours, minute), exc
        return _within(self.weekly[day.weekday()], minute), None


def _within(ranges: tuple[TimeRange, ...], minute: int) -> bool:
    return any(start <= minute < end for start, end in ranges)


# --- nodes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayNode:
    kind: ClassVar[str] = "play"
    name: str
    prompts: tuple[PromptItem, ...]
    barge_in: bool
    next: str

    def targets(self) -> tuple[str, ...]:
        return (self.next,)


@dataclass(frozen=True)
class MenuNode:
    kind: ClassVar[str] = "menu"
    name: str
    prompts: tuple[PromptItem, ...]
    options: Mapping[str, str]  # key 0-9 * # -> node
    timeout: float
    max_retries: int
    invalid_prompts: tuple[PromptItem, ...]
    timeout_prompts: tuple[PromptItem, ...]
    barge_in: bool
    into: str | None
    on_failure: str

    def targets(self) -> tuple[str, ...]:
        return (*self.options.values(), self.on_failure)


@dataclass(frozen=True)
class CollectNode:
    kind: ClassVar[str] = "collect"
    name: str
    prompts: tuple[PromptItem, ...]
    into: str
    min_digits: int
    max_digits: int
    terminator: str | None
    first_digit_timeout: float
    inter_digit_timeout: float
    pattern: re.Pattern[str] | None
    max_retries: int
    invalid_prompts: tuple[PromptItem, ...]
    timeout_prompts: tuple[PromptItem, ...]
    barge_in: bool
    next: str
    on_failure: str

    def targets(self) -> tuple[str, ...]:
        return (self.next, self.on_failure)


@dataclass(frozen=True)
class ScheduleNode:
    kind: ClassVar[str] = "schedule"
    name: str
    schedule: Schedule
    open: str
    closed: str

    def targets(self) -> tuple[str, ...]:
        return (self.open, self.closed)


@dataclass(frozen=True)
class LanguageNode:
    kind: ClassVar[str] = "language"
    name: str
    language: Template
    next: str

    def targets(self) -> tuple[str, ...]:
        return (self.next,)


@dataclass(frozen=True)
class SetNode:
    kind: ClassVar[str] = "set"
    name: str
    variables: tuple[tuple[str, Value | Template], ...]
    next: str

    def targets(self) -> tuple[str, ...]:
        return (self.next,)


@dataclass(frozen=True)
class BranchCase:
    condition: Condition
    source: str
    next: str


@dataclass(frozen=True)
class BranchNode:
    kind: ClassVar[str] = "branch"
    name: str
    cases: tuple[BranchCase, ...]
    otherwise: str  # the `else` field

    def targets(self) -> tuple[str, ...]:
        return (*(c.next for c in self.cases), self.otherwise)


@dataclass(frozen=True)
class LookupNode:
    kind: ClassVar[str] = "lookup"
    name: str
    method: Literal["GET", "POST"]
    url: Template
    headers: tuple[tuple[str, Template], ...]
    body: tuple[tuple[str, Value | Template], ...] | None
    timeout: float
    into: tuple[tuple[str, tuple[str | int, ...]], ...]  # variable -> JSON path
    next: str
    on_failure: str

    def targets(self) -> tuple[str, ...]:
        return (self.next, self.on_failure)


@dataclass(frozen=True)
class QueueNode:
    kind: ClassVar[str] = "queue"
    name: str
    queue: Template
    priority: int | Template
    skills: tuple[tuple[Template, int | Template], ...]
    max_wait: float | None
    next: str | None  # where the call goes when the ACD hands it back; None ends the flow

    def targets(self) -> tuple[str, ...]:
        return () if self.next is None else (self.next,)


@dataclass(frozen=True)
class TransferNode:
    kind: ClassVar[str] = "transfer"
    name: str
    to: Literal["agent", "number", "flow"]
    target: Template
    on_failure: str | None

    def targets(self) -> tuple[str, ...]:
        return () if self.on_failure is None else (self.on_failure,)


@dataclass(frozen=True)
class VoicemailNode:
    kind: ClassVar[str] = "voicemail"
    name: str
    prompts: tuple[PromptItem, ...]
    mailbox_kind: Literal["queue", "agent"] | None
    mailbox: Template | None
    max_seconds: float
    max_silence: float
    beep: bool
    next: str
    on_failure: str

    def targets(self) -> tuple[str, ...]:
        return (self.next, self.on_failure)


@dataclass(frozen=True)
class HangupNode:
    kind: ClassVar[str] = "hangup"
    name: str
    cause: str

    def targets(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class CallbackNode:
    kind: ClassVar[str] = "callback"
    name: str
    queue: Template
    delay: float  # seconds before it joins the queue; 0: at once
    next: str
    on_failure: str

    def targets(self) -> tuple[str, ...]:
        return (self.next, self.on_failure)


Node = (
    PlayNode
    | MenuNode
    | CollectNode
    | ScheduleNode
    | LanguageNode
    | SetNode
    | BranchNode
    | LookupNode
    | QueueNode
    | CallbackNode
    | TransferNode
    | VoicemailNode
    | HangupNode
)

# --- flows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: str
    description: str
    dids: tuple[str, ...]
    entry: str
    languages: tuple[str, ...]  # the first one is the call's language at the start
    fallbacks: Mapping[str, str]  # language -> language whose prompts stand in for missing ones
    prompts: Mapping[str, Mapping[str, PromptFile]]  # logical name -> language -> file
    timezone: ZoneInfo
    max_steps: int
    variables: Mapping[str, Value]
    nodes: Mapping[str, Node]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def first_queue(self) -> str | None:
        """The queue a call reaches with no choice on the way (each node up to the first queue
        node has one way on, the queue's name is no template): where a call the app never saw
        would have waited. None when a menu, a branch, a failure path or a variable decides."""
        name, seen = self.entry, set()
        while name not in seen and (node := self.nodes.get(name)) is not None:
            seen.add(name)
            if isinstance(node, QueueNode):
                literal = node.queue.is_literal
                return "".join(str(part) for part in node.queue.parts) if literal else None
            ways = node.targets()
            if len(ways) != 1:
                return None
            name = ways[0]
        return None

    def resolve_prompt(self, name: str, language: str) -> tuple[str, PromptFile] | None:
        """The (language, file) that plays prompt `name` for a call in `language`."""
        seen: set[str] = set()
        lang: str | None = language
        per_language = self.prompts.get(name, {})
        while lang is not None and lang not in seen:
            seen.add(lang)
            found = per_language.get(lang)
            if found is not None:
                return lang, found
            lang = self.fallbacks.get(lang)
        return None


@dataclass(frozen=True)
class FlowSet:
    """Every flow of a version, and which flow answers each DID.

    Immutable: a call keeps a reference to the FlowSet it started on, so a newer version installed
    meanwhile serves only new calls.
    """

    flows: Mapping[str, Flow]
    dids: Mapping[str, str]  # DID -> flow name
    sources: tuple[tuple[str, str], ...] = ()  # (file name, text) as loaded

    def flow_for_did(self, did: str) -> Flow | None:
        name = self.dids.get(did)
        return None if name is None else self.flows[name]


K = TypeVar("K")
V = TypeVar("V")


def frozen_map(items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))
