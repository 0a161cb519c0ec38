"""Call tasks' steps: finishing needs an outcome, a finished task takes no step, an
unanswered attempt is due again after its outcome's delay or ends the task at the maximum;
My work merges sources by due time, then priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pbx_stasis.dialing.compliance import ComplianceRules
from pbx_stasis.leads.work import (
    TaskRefused,
    TaskStatus,
    WorkItem,
    cancel,
    finish,
    merged,
    start_call,
    unanswered,
)

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
RULES = ComplianceRules(max_attempts=3)


@pytest.mark.parametrize("outcome", [None, "", "   "])
def test_a_task_is_not_finished_without_an_outcome(outcome: str | None) -> None:
    with pytest.raises(TaskRefused) as refused:
        finish(TaskStatus.IN_PROGRESS, outcome)
    assert refused.value.field == "outcome" and refused.value.code == "invalid"
    assert "outcome" in str(refused.value)


def test_finishing_with_an_outcome_and_only_once() -> None:
    done = finish(TaskStatus.OPEN, "  Sale  ")
    assert (done.status, done.outcome, done.done) == (TaskStatus.DONE, "Sale", True)
    for status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        for step in (lambda s: finish(s, "x"), cancel, start_call):
            with pytest.raises(TaskRefused) as refused:
                step(status)
            assert refused.value.code == "conflict"


def test_unanswered_attempts_are_retried_after_their_delay_then_end() -> None:
    first = unanswered(TaskStatus.IN_PROGRESS, "busy", attempts=0, rules=RULES, now=NOW)
    assert (first.status, first.attempts, first.due_at) == (
        TaskStatus.OPEN, 1, NOW + timedelta(minutes=15))
    second = unanswered(TaskStatus.OPEN, "machine", attempts=1, rules=RULES, now=NOW)
    assert second.due_at == NOW + timedelta(hours=4)
    last = unanswered(TaskStatus.OPEN, "no-answer", attempts=2, rules=RULES, now=NOW)
    assert (last.status, last.attempts, last.done) == (TaskStatus.CANCELLED, 3, True)
    assert last.outcome == "3 attempts without an answer"
    with pytest.raises(TaskRefused) as refused:
        unanswered(TaskStatus.OPEN, "hung up", attempts=0, rules=RULES, now=NOW)
    assert refused.value.field == "result"


def test_my_work_merges_sources_by_due_time_then_priority() -> None:
    def item(kind: str, key: str, hours: int, priority: int = 0) -> WorkItem:
        return WorkItem(kind, key, "+14155550100", None, NOW + timedelta(hours=hours), priority)

    tasks = [item("task", "1", 2), item("task", "2", 0, priority=1)]
    callbacks = [item("callback", "a", 0, priority=5), item("callback", "b", 1)]
    order = [(i.kind, i.id) for i in merged([tasks, callbacks])]
    assert order == [("callback", "a"), ("task", "2"), ("callback", "b"), ("task", "1")]
    assert len(merged([tasks, callbacks], limit=2)) == 2
