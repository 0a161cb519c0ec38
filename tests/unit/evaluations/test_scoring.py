"""The pure scoring of evaluations: shares per kind of question, weights, sections, critical
questions failing the whole evaluation, answers that do not fit, the automatic answers from a
call's insights, the agent's moves; and the scorecard's rules as people write it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pbx_stasis.demo import SALES_SCORECARD, SCORECARD
from pbx_stasis.evaluations.core import (
    AnswerError,
    Status,
    automatic,
    overridden,
    respond,
    score,
)
from pbx_stasis.evaluations.model import ScorecardFields, scorecard_of
from pbx_stasis.validation import field_errors

CARD = scorecard_of(ScorecardFields.model_validate(SCORECARD))
ALL_GOOD: dict[str, Any] = {"greeting": True, "verified": True, "listening": True, "tone": 5,
                            "resolution": "Resolved", "closing": True}


def test_every_answer_at_its_best_scores_100() -> None:
    result = score(CARD, ALL_GOOD)
    assert result.percent == 100.0 and not result.failed
    assert [(s.title, s.percent) for s in result.sections] == [
        ("Opening", 100.0), ("Conversation", 100.0), ("Closing", 100.0)]


def test_weights_shares_and_sections() -> None:
    # greeting no (0 of 2), tone 3 of 5 (1.8 of 3), escalated (1.5 of 3), the rest full.
    answers = {**ALL_GOOD, "greeting": False, "tone": 3, "resolution": "Escalated"}
    result = score(CARD, answers)
    assert result.possible == 12.0
    assert result.earned == pytest.approx(2 + 1 + 1.8 + 1.5 + 1)
    assert result.percent == round(100 * 7.3 / 12, 1) == 60.8
    opening, conversation, closing = result.sections
    assert (opening.earned, opening.possible, opening.percent) == (2.0, 4.0, 50.0)
    assert conversation.percent == round(100 * 4.3 / 7, 1)
    assert closing.percent == 100.0


def test_a_critical_question_at_its_lowest_fails_the_whole_evaluation() -> None:
    result = score(CARD, {**ALL_GOOD, "verified": False})
    assert result.failed and result.failed_by == ("verified",)
    assert result.percent == 0.0
    assert result.earned == 10.0  # the points are kept, the score is 0


def test_answers_that_do_not_fit_are_refused_one_by_one() -> None:
    bad = {**ALL_GOOD, "greeting": "yes", "tone": 6, "resolution": "Maybe", "extra": True}
    del bad["closing"]
    with pytest.raises(AnswerError) as caught:
        score(CARD, bad)
    assert caught.value.problems == {
        "extra": "is not a question of this scorecard",
        "greeting": "must be yes (true) or no (false)",
        "tone": "must be a whole number from 0 to 5",
        "resolution": "must be one of: Resolved, Escalated, Unresolved",
        "closing": "needs an answer",
    }
    with pytest.raises(AnswerError):
        score(CARD, {**ALL_GOOD, "tone": True})  # a yes is no number on a scale


@given(st.booleans(), st.booleans(), st.booleans(), st.integers(0, 5),
       st.sampled_from(["Resolved", "Escalated", "Unresolved"]), st.booleans())
def test_a_score_is_a_percent_and_zero_exactly_when_failed_or_earned_nothing(
        greeting: bool, verified: bool, listening: bool, tone: int, resolution: str,
        closing: bool) -> None:
    result = score(CARD, {"greeting": greeting, "verified": verified, "listening": listening,
                          "tone": tone, "resolution": resolution, "closing": closing})
    assert 0.0 <= result.percent <= 100.0
    assert result.failed is (not verified)
    if verified:
        assert result.percent == round(100 * result.earned / result.possible, 1)
    assert sum(s.earned for s in result.sections) == pytest.approx(result.earned)


INSIGHTS = {
    "interruptions": 1,
    "categories": [{"category": "greeting", "speaker": "agent", "at": 0.4,
                    "phrase": "good morning"}],
    "sentiment": {"agent": 0.4, "customer": None},
}


def test_automatic_answers_come_from_categories_and_figures_with_the_reason() -> None:
    auto = automatic(CARD, INSIGHTS)
    assert auto == {
        "greeting": (True, 'category greeting found (agent: "good morning")'),
        "listening": (True, "interruptions is 1 (at most 2)"),
        "closing": (False, "category closing not found"),
    }
    assert automatic(CARD, {**INSIGHTS, "interruptions": 3})["listening"] == (
        False, "interruptions is 3 (not at most 2)")
    assert automatic(CARD, None) == {}  # no insights: nothing is pre-filled
    # The supervisor overrides the closing question's automatic "no".
    assert overridden({**ALL_GOOD}, auto) == ["closing"]


def test_a_not_found_category_and_a_missing_figure() -> None:
    card = scorecard_of(ScorecardFields.model_validate({"name": "c", "sections": [
        {"title": "s", "questions": [
            {"id": "calm", "text": "No cancel talk", "kind": "yes-no",
             "auto": {"category": "cancel", "found": False}},
            {"id": "happy", "text": "Customer positive", "kind": "yes-no",
             "auto": {"figure": "sentiment.customer", "at_least": 0.05}},
        ]}]}))
    assert automatic(card, INSIGHTS) == {"calm": (True, "category cancel not found")}


def test_the_demos_sales_scorecard_answers_itself_from_a_floor_and_an_absence() -> None:
    card = scorecard_of(ScorecardFields.model_validate(SALES_SCORECARD))
    insights = {"categories": [{"category": "buying", "speaker": "customer", "at": 2.0,
                                "phrase": "quote"}],
                "sentiment": {"agent": 0.4, "customer": -0.2}}
    assert automatic(card, insights) == {
        "price-talk": (True, 'category buying found (customer: "quote")'),
        "no-cancel": (True, "category cancel not found"),
        "positive": (False, "sentiment.customer is -0.2 (not at least 0)"),
    }


def test_the_agent_acknowledges_or_disputes_once() -> None:
    assert respond(Status.SUBMITTED, "acknowledge") is Status.ACKNOWLEDGED
    assert respond(Status.SUBMITTED, "dispute") is Status.DISPUTED
    with pytest.raises(ValueError, match="an evaluation acknowledged cannot be disputed"):
        respond(Status.ACKNOWLEDGED, "dispute")
    with pytest.raises(ValueError):
        respond(Status.DISPUTED, "acknowledge")


def _errors(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        ScorecardFields.model_validate(body)
    return field_errors(caught.value)


def test_a_scorecard_is_checked_as_written() -> None:
    one = {"id": "q", "text": "Q", "kind": "yes-no"}
    # Each error is named by the field at fault, where the scorecard editor shows it.
    assert _errors({"name": "c", "sections": [{"title": "s", "questions": [one]},
                                              {"title": "t", "questions": [one]}]}) == {
        "sections.1.questions.0.id": "question id 'q' is used twice"}
    assert _errors({"name": "c", "sections": [{"title": "s", "questions": [
        {**one, "auto": {}}]}]}) == {
        "sections.0.questions.0.auto.category": "name a category or a figure (one)"}
    twice = {"id": "c", "text": "C", "kind": "choice", "choices": [
        {"label": "A", "score": 1}, {"label": "B", "score": 0}, {"label": "A", "score": 2}]}
    assert _errors({"name": "c", "sections": [{"title": "s", "questions": [twice]}]}) == {
        "sections.0.questions.0.choices.2.label": "another choice has this label"}
    choice = {"id": "c", "text": "C", "kind": "choice", "choices": [{"label": "A", "score": 1}]}
    assert _errors({"name": "c", "sections": [{"title": "s", "questions": [choice]}]}) == {
        "sections.0.questions.0.choices": "a choice question needs two choices or more"}
    scale = {"id": "s", "text": "S", "kind": "scale", "auto": {"category": "greeting"}}
    assert _errors({"name": "c", "sections": [{"title": "s", "questions": [scale]}]}) == {
        "sections.0.questions.0.auto": "only a yes/no question is answered automatically"}
    unknown = {**one, "auto": {"figure": "shoe_size", "at_most": 1}}
    assert "must be one of: interruptions" in _errors({"name": "c", "sections": [
        {"title": "s", "questions": [unknown]}]})["sections.0.questions.0.auto.figure"]
    assert "sections" in _errors({"name": "c", "sections": []})
