"""Call tasks' rules and the agent's "My work" list: pure, no IO (time comes in).

A task moves open -> in progress (a call placed) -> done (with an outcome) or back to open after
an unanswered attempt (due again after the outcome's retry delay), or cancelled (by hand, or
when the maximum attempts is reached). "My work" is a merge of sources (tasks, and whatever
other features add, e.g. queued callbacks), ordered by when each is due, then priority.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pbx_stasis.dialing.compliance import RETRY_OUTCOMES, ComplianceRules, next_try


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class LeadStatus(enum.StrEnum):
    NEW = "new"  # no task yet
    OPEN = "open"  # a task is open or in progress
    DONE = "done"
    CANCELLED = "cancelled"


FINISHED = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})
SOURCES = ("hand", "api", "list", "follow-up")


class TaskRefused(ValueError):
    """A change a task cannot take: `field` names what is wrong (for a 4xx), `code` is
    `invalid` (the request) or `conflict` (the task's state)."""

    def __init__(self, message: str, *, field: str | None = None,
                 code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class Change:
    """What a step does to a task: its new status, due time, attempts and outcome."""

    status: TaskStatus
    due_at: datetime | None = None  # None: unchanged
    attempts: int | None = None
    last_outcome: str | None = None
    outcome: str | None = None
    done: bool = False


def start_call(status: TaskStatus) -> Change:
    """A call placed for the task: only an open (or already in progress) task."""
    if status in FINISHED:
        raise TaskRefused(f"the task is {status.value}", code="conflict")
    return Change(TaskStatus.IN_PROGRESS)


def finish(status: TaskStatus, outcome: str | None) -> Change:
    """Done: only with an outcome (what came of the call), and only once."""
    if not (outcome or "").strip():
        raise TaskRefused("a task is finished with its outcome: say what came of the call",
                          field="outcome")
    if status in FINISHED:
        raise TaskRefused(f"the task is already {status.value}", code="conflict")
    return Change(TaskStatus.DONE, outcome=(outcome or "").strip(), done=True)


def cancel(status: TaskStatus) -> Change:
    if status in FINISHED:
        raise TaskRefused(f"the task is already {status.value}", code="conflict")
    return Change(TaskStatus.CANCELLED, outcome="cancelled", done=True)


def unanswered(status: TaskStatus, result: str, *, attempts: int, rules: ComplianceRules,
               now: datetime) -> Change:
    """An attempt nobody answered (busy, no-answer, machine), counted: the task is due again
    after the result's retry delay, or cancelled once the tenant's maximum is reached."""
    if result not in RETRY_OUTCOMES:
        raise TaskRefused(f"must be one of {', '.join(RETRY_OUTCOMES)}", field="result")
    if status in FINISHED:
        raise TaskRefused(f"the task is already {status.value}", code="conflict")
    made = attempts + 1
    due = next_try(result, attempts=made, rules=rules, now=now)
    if due is None:
        return Change(TaskStatus.CANCELLED, attempts=made, last_outcome=result,
                      outcome=f"{made} attempts without an answer", done=True)
    return Change(TaskStatus.OPEN, due_at=due, attempts=made, last_outcome=result)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One line of an agent's "My work": something to call, from one source."""

    kind: str  # task, follow-up, callback...
    id: str  # unique within its kind
    number: str
    name: str | None
    due_at: datetime
    priority: int = 0
    status: str = "open"
    detail: dict[str, Any] = field(default_factory=dict)


def merged(sources: Iterable[Iterable[WorkItem]], *, limit: int = 200) -> list[WorkItem]:
    """The items of every source, the earliest due first, then the highest priority."""
    items = [item for source in sources for item in source]
    items.sort(key=lambda item: (item.due_at, -item.priority, item.kind, item.id))
    return items[:limit]
