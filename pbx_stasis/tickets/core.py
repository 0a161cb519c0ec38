"""The pure rules of a ticket: its statuses and the moves between them, priorities and their due
times, what counts as overdue, and the history rows a change writes. No IO; time comes in."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class Status(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in-progress"
    PENDING = "pending"  # waiting on the customer or a third party
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


# Where a ticket may go from each status. A resolved ticket may be reopened (the customer calls
# back); a closed one is final, as in Zendesk: a new problem is a new ticket.
MOVES: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# Statuses whose ticket still asks for work: only these can be overdue.
ACTIVE = frozenset({Status.OPEN, Status.IN_PROGRESS, Status.PENDING})

# Minutes from creation to the due time, by priority, for a tenant that set none.
DEFAULT_TARGETS: Mapping[Priority, int] = {
    Priority.URGENT: 4 * 60,
    Priority.HIGH: 24 * 60,
    Priority.MEDIUM: 3 * 24 * 60,
    Priority.LOW: 7 * 24 * 60,
}


class MoveRefused(ValueError):
    """A status change the rules do not allow (the message names both statuses)."""


def check_move(current: Status, wanted: Status) -> None:
    """Raise MoveRefused unless a ticket in `current` may become `wanted` (staying is allowed)."""
    if wanted is current:
        return
    if wanted not in MOVES[current]:
        allowed = ", ".join(sorted(s.value for s in MOVES[current])) or "none"
        raise MoveRefused(f"cannot go from {current.value} to {wanted.value} (allowed: {allowed})")


def targets_of(saved: Mapping[str, int] | None) -> dict[Priority, int]:
    """A tenant's targets: its saved minutes per priority over the defaults."""
    targets = dict(DEFAULT_TARGETS)
    for name, minutes in (saved or {}).items():
        if name in Priority.__members__.values():
            targets[Priority(name)] = int(minutes)
    return targets


def due_at(created_at: datetime, priority: Priority, targets: Mapping[Priority, int]) -> datetime:
    """When a ticket of this priority opened at `created_at` is due."""
    return created_at + timedelta(minutes=targets[priority])


def is_overdue(status: Status, due: datetime | None, now: datetime) -> bool:
    return due is not None and status in ACTIVE and due < now


@dataclass(frozen=True)
class Change:
    """One field of a ticket changed: a history row."""

    field: str
    old: str | None
    new: str | None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """The history rows from `before` to `after`: one per field whose value differs, in the
    order of `after`'s fields."""
    return [
        Change(name, _text(before.get(name)), _text(value))
        for name, value in after.items()
        if _text(before.get(name)) != _text(value)
    ]
