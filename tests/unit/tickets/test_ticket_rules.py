"""The pure rules of tickets, custom fields and the timeline: status moves, due times, overdue,
history rows, custom values by kind, the merge of timeline sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pbx_stasis.crm.fields import FieldDefinitions, FieldKind, FieldSpec, check_values
from pbx_stasis.crm.timeline import TimelineEntry, merge
from pbx_stasis.tickets.core import (
    ACTIVE,
    DEFAULT_TARGETS,
    MOVES,
    Change,
    MoveRefused,
    Priority,
    Status,
    changes,
    check_move,
    due_at,
    is_overdue,
    targets_of,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_closed_ticket_is_final_and_a_resolved_one_may_reopen() -> None:
    assert MOVES[Status.CLOSED] == frozenset()
    check_move(Status.RESOLVED, Status.OPEN)
    with pytest.raises(MoveRefused, match="cannot go from closed to open"):
        check_move(Status.CLOSED, Status.OPEN)
    with pytest.raises(MoveRefused, match=r"allowed: closed, open"):
        check_move(Status.RESOLVED, Status.PENDING)


@given(st.sampled_from(Status), st.sampled_from(Status))
def test_every_move_is_allowed_exactly_by_the_table(current: Status, wanted: Status) -> None:
    allowed = wanted is current or wanted in MOVES[current]
    try:
        check_move(current, wanted)
    except MoveRefused:
        assert not allowed
    else:
        assert allowed


def test_every_active_status_can_reach_resolved_and_closed() -> None:
    for status in ACTIVE:
        assert {Status.RESOLVED, Status.CLOSED} <= MOVES[status]


def test_due_time_follows_the_tenant_targets_over_the_defaults() -> None:
    targets = targets_of({"urgent": 30, "nonsense": 5})
    assert targets[Priority.URGENT] == 30
    assert targets[Priority.LOW] == DEFAULT_TARGETS[Priority.LOW]
    assert due_at(T0, Priority.URGENT, targets) == T0 + timedelta(minutes=30)
    assert targets_of(None) == dict(DEFAULT_TARGETS)
    # The more urgent, the sooner: the defaults keep the order of priorities.
    minutes = [DEFAULT_TARGETS[p] for p in Priority]
    assert minutes == sorted(minutes, reverse=True)


def test_overdue_only_while_work_is_asked() -> None:
    due = T0 + timedelta(hours=1)
    later = T0 + timedelta(hours=2)
    assert is_overdue(Status.OPEN, due, later)
    assert is_overdue(Status.PENDING, due, later)
    assert not is_overdue(Status.OPEN, due, T0)
    assert not is_overdue(Status.RESOLVED, due, later)
    assert not is_overdue(Status.CLOSED, due, later)


def test_history_rows_are_the_fields_that_changed() -> None:
    before = {"status": "open", "priority": "low", "assignee_user_id": None, "due_at": T0}
    after = {"status": Status.IN_PROGRESS, "priority": "low", "assignee_user_id": 7,
             "due_at": T0 + timedelta(days=1)}
    assert changes(before, after) == [
        Change("status", "open", "in-progress"),
        Change("assignee_user_id", None, "7"),
        Change("due_at", T0.isoformat(), (T0 + timedelta(days=1)).isoformat()),
    ]
    assert changes(before, before) == []


SPECS = [
    FieldSpec("plan", FieldKind.CHOICE, ("Basic", "Business")),
    FieldSpec("seats", FieldKind.NUMBER),
    FieldSpec("renewal", FieldKind.DATE),
    FieldSpec("note", FieldKind.TEXT),
]


def test_custom_values_are_checked_by_their_kind() -> None:
    good = {"plan": "Business", "seats": 12, "renewal": "2027-01-31", "note": "x", "free": 1}
    assert check_values(SPECS, good) == {}
    assert check_values(SPECS, {"plan": None, "seats": "", "renewal": None}) == {}  # cleared
    assert check_values(SPECS, {
        "plan": "Gold", "seats": "twelve", "renewal": "31/01/2027", "note": 5,
    }) == {
        "custom_fields.plan": "must be one of: Basic, Business",
        "custom_fields.seats": "must be a number",
        "custom_fields.renewal": "must be a date written YYYY-MM-DD",
        "custom_fields.note": "must be text",
    }
    assert check_values(SPECS, {"seats": True}) == {"custom_fields.seats": "must be a number"}


def test_field_definitions_refuse_what_cannot_work() -> None:
    with pytest.raises(ValidationError, match="a choice field needs at least one choice"):
        FieldDefinitions.model_validate({"fields": [{"name": "plan", "kind": "choice"}]})
    with pytest.raises(ValidationError, match="only a choice field has choices"):
        FieldDefinitions.model_validate(
            {"fields": [{"name": "n", "kind": "number", "choices": ["a"]}]})
    with pytest.raises(ValidationError, match="is a duplicate"):
        FieldDefinitions.model_validate({"fields": [{"name": "a"}, {"name": "a"}]})


@given(st.lists(st.lists(st.integers(0, 10_000), max_size=20), max_size=5), st.integers(1, 50))
def test_the_timeline_is_the_newest_entries_of_every_source(
    parts: list[list[int]], limit: int
) -> None:
    sources = [
        [TimelineEntry(T0 + timedelta(minutes=m), f"s{i}", str(m))
         for m in sorted(minutes, reverse=True)]
        for i, minutes in enumerate(parts)
    ]
    merged = merge(sources, limit)
    everything = sorted((e for part in sources for e in part), key=lambda e: e.at, reverse=True)
    assert [e.at for e in merged] == [e.at for e in everything[:limit]]
