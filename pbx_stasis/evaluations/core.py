"""Scorecards and their scores, pure: no IO, no clock.

A scorecard has sections of questions. A question is answered yes/no, on a scale (0..`scale`)
or by one of its choices (each worth a share of the question, 0-100 %); it weighs `weight`
points. The score of an evaluation is the points earned over the points possible, in percent
(each section's the same over its own questions). A **critical** question answered at its lowest
(no, 0, a choice worth 0 %) fails the whole evaluation: its score is then 0, whatever the rest.

A yes/no question may be tied to the call's insights (`Auto`): a keyword category found (or
not found), or a figure at most / at least a bound (interruptions, the customer's sentiment...).
`automatic` answers those from the insights' figures, each with the reason; the supervisor may
override them. The moves of an evaluation after it is saved are `respond`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Answer = bool | int | str


class Kind(StrEnum):
    YES_NO = "yes-no"
    SCALE = "scale"
    CHOICE = "choice"


class Status(StrEnum):
    SUBMITTED = "submitted"  # scored; the agent has not answered yet
    ACKNOWLEDGED = "acknowledged"  # the agent has read it and agrees
    DISPUTED = "disputed"  # the agent disagrees (with a comment); a supervisor may rescore


# Figures of the insights (analytics/insights.py's `figures()`) a question may be tied to, by
# the path a scorecard names them with.
FIGURES: Mapping[str, tuple[str, ...]] = {
    "interruptions": ("interruptions",),
    "overtalk": ("overtalk",),
    "non_talk": ("non_talk",),
    "longest_monologue": ("longest_monologue", "seconds"),
    "talk.agent": ("talk", "agent"),
    "talk.customer": ("talk", "customer"),
    "sentiment.agent": ("sentiment", "agent"),
    "sentiment.customer": ("sentiment", "customer"),
    "lead_score": ("lead", "score"),
}


@dataclass(frozen=True, slots=True)
class Auto:
    """How a yes/no question answers itself from the insights: `category` found (`found`
    False: not found), or `figure` within `at_most` / `at_least`."""

    category: str | None = None
    found: bool = True
    figure: str | None = None
    at_most: float | None = None
    at_least: float | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    score: float  # share of the question's weight, 0..100 %


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    kind: Kind
    weight: float = 1.0
    critical: bool = False
    scale: int = 5  # a scale question's top value (answers 0..scale)
    choices: tuple[Choice, ...] = ()
    auto: Auto | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    sections: tuple[Section, ...]

    def questions(self) -> list[Question]:
        return [q for section in self.sections for q in section.questions]


@dataclass(frozen=True, slots=True)
class SectionScore:
    title: str
    earned: float
    possible: float

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.earned / self.possible, 1) if self.possible else None


@dataclass(frozen=True, slots=True)
class Score:
    """An evaluation's result: `percent` is 0 when a critical question failed it."""

    earned: float
    possible: float
    failed_by: tuple[str, ...]  # the critical questions answered at their lowest
    sections: tuple[SectionScore, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return bool(self.failed_by)

    @property
    def percent(self) -> float:
        if self.failed or not self.possible:
            return 0.0
        return round(100.0 * self.earned / self.possible, 1)


class AnswerError(ValueError):
    """Answers that do not fit the scorecard: {question id or "answers": why}."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def share(question: Question, answer: Answer) -> float:
    """The share (0..1) of a question's weight an answer earns; ValueError when it does not
    fit the question."""
    if question.kind is Kind.YES_NO:
        if not isinstance(answer, bool):
            raise ValueError("must be yes (true) or no (false)")
        return 1.0 if answer else 0.0
    if question.kind is Kind.SCALE:
        if isinstance(answer, bool) or not isinstance(answer, int) \
                or not 0 <= answer <= question.scale:
            raise ValueError(f"must be a whole number from 0 to {question.scale}")
        return answer / question.scale
    for choice in question.choices:
        if answer == choice.label:
            return choice.score / 100.0
    raise ValueError("must be one of: " + ", ".join(c.label for c in question.choices))


def score(card: Scorecard, answers: Mapping[str, Answer]) -> Score:
    """The score of a complete set of answers (one per question); AnswerError otherwise."""
    problems: dict[str, str] = {}
    known = {q.id for q in card.questions()}
    for extra in sorted(set(answers) - known):
        problems[extra] = "is not a question of this scorecard"
    sections: list[SectionScore] = []
    failed_by: list[str] = []
    earned_all = possible_all = 0.0
    for section in card.sections:
        earned = possible = 0.0
        for question in section.questions:
            if question.id not in answers:
                problems[question.id] = "needs an answer"
                continue
            try:
                part = share(question, answers[question.id])
            except ValueError as exc:
                problems[question.id] = str(exc)
                continue
            earned += question.weight * part
            possible += question.weight
            if question.critical and part == 0.0:
                failed_by.append(question.id)
        sections.append(SectionScore(section.title, round(earned, 4), possible))
        earned_all += earned
        possible_all += possible
    if problems:
        raise AnswerError(problems)
    return Score(round(earned_all, 4), possible_all, tuple(failed_by), tuple(sections))


def figure_of(figures: Mapping[str, Any], name: str) -> float | None:
    """One figure of a call's insights by its scorecard name (FIGURES); None when absent."""
    value: Any = figures
    for key in FIGURES[name]:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _auto_answer(auto: Auto, figures: Mapping[str, Any]) -> tuple[bool, str] | None:
    if auto.category is not None:
        hits = [c for c in figures.get("categories", []) if c.get("category") == auto.category]
        if hits:
            hit = hits[0]
            why = f"category {auto.category} found ({hit.get('speaker')}: \"{hit.get('phrase')}\")"
            return auto.found, why
        return (not auto.found), f"category {auto.category} not found"
    if auto.figure is None:
        return None
    value = figure_of(figures, auto.figure)
    if value is None:
        return None
    within = ((auto.at_most is None or value <= auto.at_most)
              and (auto.at_least is None or value >= auto.at_least))
    bounds = " and ".join(part for part in (
        f"at least {auto.at_least:g}" if auto.at_least is not None else "",
        f"at most {auto.at_most:g}" if auto.at_most is not None else "") if part)
    return within, f"{auto.figure} is {value:g} ({'' if within else 'not '}{bounds})"


def automatic(card: Scorecard, figures: Mapping[str, Any] | None
              ) -> dict[str, tuple[bool, str]]:
    """The answers the insights give (question id -> (answer, why)); none without insights,
    nor for a question whose figure the call has not got."""
    if not figures:
        return {}
    found: dict[str, tuple[bool, str]] = {}
    for question in card.questions():
        if question.auto is None or question.kind is not Kind.YES_NO:
            continue
        answer = _auto_answer(question.auto, figures)
        if answer is not None:
            found[question.id] = answer
    return found


# The agent's answer to an evaluation: from which statuses each move is allowed.
MOVES: Mapping[str, tuple[Status, ...]] = {
    "acknowledge": (Status.SUBMITTED,),
    "dispute": (Status.SUBMITTED,),
}
ANSWERED: Mapping[str, Status] = {"acknowledge": Status.ACKNOWLEDGED,
                                  "dispute": Status.DISPUTED}


def respond(status: Status, move: str) -> Status:
    """The status after the agent's move; ValueError when it is not allowed now (a rescore,
    a supervisor's, puts any evaluation back to SUBMITTED)."""
    if status not in MOVES[move]:
        raise ValueError(f"an evaluation {status.value} cannot be {ANSWERED[move].value}")
    return ANSWERED[move]


def overridden(answers: Mapping[str, Answer], auto: Mapping[str, tuple[bool, str]]
               ) -> list[str]:
    """The questions whose automatic answer the supervisor changed."""
    return sorted(qid for qid, (value, _) in auto.items()
                  if qid in answers and answers[qid] != value)


def sections_json(sections: Sequence[SectionScore]) -> list[dict[str, Any]]:
    return [{"title": s.title, "earned": s.earned, "possible": s.possible,
             "percent": s.percent} for s in sections]
