"""The voicemail inbox's pure rules: what is an empty message, who reads, deletes and assigns,
retention, and the wallboard's new count per queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.store.tables import Role
from pbx_stasis.voicemail.core import (
    MIN_SECONDS,
    Mailbox,
    Reader,
    Status,
    is_empty,
    may_assign,
    may_delete,
    may_read,
    new_per_queue,
    retention_cutoff,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ALICE = Reader(Role.AGENT, 7, "alice", ("support",))
SUPERVISOR = Reader(Role.SUPERVISOR, 2, "sue")


@given(st.floats(min_value=0, max_value=600, allow_nan=False))
def test_a_message_under_a_second_is_empty(seconds: float) -> None:
    assert is_empty(seconds) is (seconds < MIN_SECONDS)


def test_a_message_of_unknown_length_is_empty() -> None:
    assert is_empty(None) and is_empty(0.0) and is_empty(0.99) and not is_empty(1.0)


def test_an_agent_reads_their_mailbox_their_queues_and_what_is_theirs() -> None:
    assert may_read(ALICE, Mailbox("agent", "alice"), None)
    assert may_read(ALICE, Mailbox("agent", "7"), None)  # the IVR's agent: takes an id too
    assert may_read(ALICE, Mailbox("queue", "support"), None)
    assert not may_read(ALICE, Mailbox("queue", "billing"), None)
    assert not may_read(ALICE, Mailbox("agent", "bob"), None)
    assert not may_read(ALICE, Mailbox(None, None), None)
    assert may_read(ALICE, Mailbox("queue", "billing"), 7)  # assigned to her


@given(st.sampled_from([Role.SUPERVISOR, Role.MANAGER, Role.ADMIN]),
       st.sampled_from([None, "queue", "agent"]), st.text(max_size=5))
def test_supervisors_and_up_read_every_mailbox(role: Role, kind: str | None, name: str) -> None:
    assert may_read(Reader(role, 1, "x"), Mailbox(kind, name if kind else None), None)


def test_only_supervisors_and_up_delete_and_agents_only_take_for_themselves() -> None:
    assert not may_delete(ALICE) and may_delete(SUPERVISOR)
    assert may_assign(ALICE, 7) and not may_assign(ALICE, 8) and not may_assign(ALICE, None)
    assert may_assign(SUPERVISOR, 8) and may_assign(SUPERVISOR, None)


def test_retention() -> None:
    assert retention_cutoff(NOW, None) is None
    assert retention_cutoff(NOW, 30) == NOW - timedelta(days=30)


def test_new_voicemails_per_queue_count_only_new_queue_messages() -> None:
    rows = [(Mailbox("queue", "support"), Status.NEW), (Mailbox("queue", "support"), Status.NEW),
            (Mailbox("queue", "support"), Status.HEARD), (Mailbox("queue", "billing"), Status.NEW),
            (Mailbox("agent", "alice"), Status.NEW), (Mailbox(None, None), Status.NEW)]
    assert new_per_queue(rows) == {"support": 2, "billing": 1}
