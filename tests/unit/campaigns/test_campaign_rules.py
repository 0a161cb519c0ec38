"""A campaign's rules without IO: its settings (each bad field named), what an attempt's end
does to its lead (retried after its outcome's delay up to the maximum, or finished), which
leads are due, the figures folded from attempts (abandon rate of answered calls), and a call's
end as the attempt's result: one rule for the dialler's calls and an agent's preview call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pbx_stasis.campaigns.core import (
    DIALLING,
    STALE_DIAL,
    AttemptLine,
    CampaignSettings,
    MachineAction,
    Result,
    after_attempt,
    fold,
    lead_due,
    occupancy,
    pacing_result,
    preview_result,
    unanswered,
)
from pbx_stasis.pacing.core import DialResult
from pbx_stasis.validation import field_errors

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def settings(**fields: object) -> CampaignSettings:
    return CampaignSettings.model_validate(
        {"name": "Spring", "list_id": 1, "queue": "sales", **fields})


def test_settings_default_to_progressive_with_amd_and_a_3_percent_target() -> None:
    s = settings()
    assert (s.mode, s.amd, s.abandon_target, s.machine_action, s.max_attempts) == (
        "progressive", True, 0.03, MachineAction.HANGUP, 3)


@pytest.mark.parametrize(("fields", "problem"), [
    ({"abandon_target": 0.5}, "abandon_target"),
    ({"queue": "sales team"}, "queue"),
    ({"mode": "auto"}, "mode"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"abandon_message": "http://evil"}, "abandon_message"),
    ({"machine_action": "message"}, "machine_message"),
    ({"caller_id": "555"}, "caller_id"),
])
def test_bad_settings_name_their_field(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**fields)
    assert problem in field_errors(caught.value)


def test_busy_is_retried_after_its_delay_until_the_maximum() -> None:
    s = settings(retry_busy=10, max_attempts=2)
    first = after_attempt(Result.BUSY, attempts=1, settings=s, now=NOW)
    assert (first.status, first.due_at) == ("open", NOW + timedelta(minutes=10))
    last = after_attempt(Result.BUSY, attempts=2, settings=s, now=NOW)
    assert (last.status, last.due_at) == ("cancelled", None)


def test_a_machine_is_retried_only_with_the_reschedule_action() -> None:
    hang_up = after_attempt(Result.MACHINE, attempts=1, settings=settings(), now=NOW)
    assert hang_up.status == "done"
    again = after_attempt(Result.MACHINE, attempts=1,
                          settings=settings(machine_action="reschedule", retry_machine=30),
                          now=NOW)
    assert (again.status, again.due_at) == ("open", NOW + timedelta(minutes=30))


def test_connected_and_abandoned_leads_are_done() -> None:
    for result in (Result.CONNECTED, Result.ABANDONED, Result.CALLED):
        assert after_attempt(result, attempts=1, settings=settings(), now=NOW).status == "done"


def test_which_leads_are_due() -> None:
    s = settings(retry_no_answer=60)
    due = dict(status="open", attempts=1, settings=s, now=NOW)
    assert lead_due(status="new", attempts=0, last_outcome=None, last_attempt_at=None,
                    settings=s, now=NOW)
    assert not lead_due(**due, last_outcome="no-answer",  # type: ignore[arg-type]
                        last_attempt_at=NOW - timedelta(minutes=59))
    assert lead_due(**due, last_outcome="no-answer",  # type: ignore[arg-type]
                    last_attempt_at=NOW - timedelta(minutes=60))
    assert not lead_due(**due, last_outcome=DIALLING,  # type: ignore[arg-type]
                        last_attempt_at=NOW - timedelta(minutes=1))
    assert lead_due(**due, last_outcome=DIALLING,  # type: ignore[arg-type]
                    last_attempt_at=NOW - STALE_DIAL)  # a process died under it
    assert lead_due(**due, last_outcome="skipped",  # type: ignore[arg-type]
                    last_attempt_at=NOW)
    assert not lead_due(status="done", attempts=1, last_outcome="connected",
                        last_attempt_at=None, settings=s, now=NOW)
    assert not lead_due(status="open", attempts=3, last_outcome="busy", last_attempt_at=None,
                        settings=s, now=NOW)


def test_figures_count_abandons_of_calls_a_person_answered() -> None:
    lines = [AttemptLine(r.value, NOW, talk_s=30.0 if r is Result.CONNECTED else None)
             for r in (Result.CONNECTED, Result.CONNECTED, Result.CONNECTED, Result.ABANDONED,
                       Result.MACHINE, Result.BUSY, Result.NO_ANSWER, Result.REFUSED,
                       Result.SKIPPED)]
    lines.append(AttemptLine(None, NOW))  # still ringing
    figures = fold(lines)
    assert (figures.dialled, figures.dialling, figures.answered, figures.abandoned) == (
        8, 1, 4, 1)  # refusals and skips are no calls
    assert figures.abandon_rate == 0.25 and figures.connect_rate == 0.5
    assert figures.talk_s == 90.0 and figures.refused == figures.skipped == 1


def test_only_a_person_counts_as_a_connect_for_the_pacing() -> None:
    assert pacing_result(Result.ABANDONED) is DialResult.PERSON
    assert pacing_result(Result.MACHINE) is DialResult.MACHINE
    assert pacing_result(Result.REFUSED) is DialResult.FAILED


def test_occupancy_is_the_busy_share_of_working_agents() -> None:
    assert occupancy({"on-call": 2, "wrap-up": 1, "available": 1, "paused": 3}) == 0.75
    assert occupancy({"paused": 2}) == 0.0


@pytest.mark.parametrize(("cause", "result"), [
    (17, Result.BUSY), (18, Result.NO_ANSWER), (19, Result.NO_ANSWER), (21, Result.REFUSED),
    (34, Result.FAILED), (None, Result.FAILED)])
def test_a_number_that_never_answered_by_its_hangup_cause(cause: int | None,
                                                          result: Result) -> None:
    assert unanswered(cause) is result


def test_a_preview_calls_end_is_the_attempts_result_by_the_dialers_rule() -> None:
    assert preview_result(talked=True, reason="completed", cause=None) is Result.CONNECTED
    # The number never answered: the same causes as the dialler's own calls.
    for cause in (17, 18, 19, 21, 34):
        assert preview_result(talked=False, reason="busy", cause=cause) is unanswered(cause)
    assert preview_result(talked=False, reason="failed", cause=None) is Result.FAILED
    assert preview_result(talked=False, reason="not_allowed", cause=None) is Result.REFUSED
    # The agent hung up while it rang: nobody answered in the time they gave it.
    assert preview_result(talked=False, reason="caller_hangup", cause=None) is Result.NO_ANSWER


def test_a_preview_calls_outcome_counts_as_the_dialers_would() -> None:
    """A preview call written back as connected counts as an answer and a connect; one still
    "called" (its outcome not back) is dialled only."""
    figures = fold([AttemptLine(Result.CONNECTED.value, NOW, talk_s=42.0),
                    AttemptLine(Result.CALLED.value, NOW),
                    AttemptLine(Result.BUSY.value, NOW)])
    assert (figures.dialled, figures.answered, figures.connected, figures.called,
            figures.busy, figures.talk_s) == (3, 1, 1, 1, 1, 42.0)


def test_a_busy_preview_lead_is_retried_like_a_dialled_one() -> None:
    s = settings(retry_busy=15, max_attempts=3)
    change = after_attempt(Result.BUSY, attempts=1, settings=s, now=NOW)
    assert (change.status, change.due_at) == ("open", NOW + timedelta(minutes=15))
    assert after_attempt(Result.CALLED, attempts=1, settings=s, now=NOW).status == "done"
