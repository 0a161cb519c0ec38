"""Scorecards and evaluations as people write them: the API's bodies (pydantic models), checked
once here for the routes, `pbx scorecards` and the demo, and turned into core.py's values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from pbx_stasis.evaluations.core import FIGURES, Auto, Choice, Kind, Question, Scorecard, Section
from pbx_stasis.validation import LINES, WHOLE, Model, Number, Whole, refusal, text

QuestionId = Annotated[str, text(max_length=40, pattern=r"[a-z0-9][a-z0-9_-]*",
                                 hint="must be lower-case letters, digits, - or _")]
Title = Annotated[str, text(max_length=200)]
Comment = Annotated[str, text(min_length=0, max_length=2000, pattern=LINES, strip=False)]
FigureName = Annotated[str, text(max_length=40,
                                 pattern="|".join(n.replace(".", r"\.") for n in FIGURES),
                                 hint="must be one of: " + ", ".join(FIGURES))]


class AutoFields(Model):
    """A yes/no question answered from the call's insights: a category found (or, with
    `found: false`, not found), or a figure within bounds."""

    category: Annotated[str, text(max_length=60)] | None = None
    found: bool = True
    figure: FigureName | None = None
    at_most: Number | None = None
    at_least: Number | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AutoFields:
        if (self.category is None) == (self.figure is None):
            raise refusal("category", self.category or "",  # None would read "must not be null"
                          "name a category or a figure (one)")
        if self.figure is not None and self.at_most is None and self.at_least is None:
            raise refusal("at_most", self.figure, "a figure needs at_most or at_least")
        return self


class ChoiceFields(Model):
    label: Annotated[str, text(max_length=100)]
    score: Annotated[Number, Field(ge=0, le=100)]  # percent of the question's weight


class QuestionFields(Model):
    id: QuestionId
    text: Title
    kind: Kind
    weight: Annotated[Number, Field(ge=0, le=100)] = 1.0
    critical: bool = False  # answered at its lowest, it fails the whole evaluation
    scale: Annotated[Whole, Field(ge=1, le=10), WHOLE] = 5
    choices: Annotated[list[ChoiceFields], Field(max_length=10)] = Field(default_factory=list)
    auto: AutoFields | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> QuestionFields:
        if self.kind is Kind.CHOICE and len(self.choices) < 2:
            raise refusal("choices", self.choices, "a choice question needs two choices or more")
        if self.kind is not Kind.CHOICE and self.choices:
            raise refusal("choices", self.choices, "only a choice question has choices")
        labels: set[str] = set()
        for index, choice in enumerate(self.choices):
            if choice.label in labels:
                raise refusal(("choices", index, "label"), choice.label,
                              "another choice has this label")
            labels.add(choice.label)
        if self.auto is not None and self.kind is not Kind.YES_NO:
            raise refusal("auto", self.auto, "only a yes/no question is answered automatically")
        return self


class SectionFields(Model):
    title: Title
    questions: Annotated[list[QuestionFields], Field(min_length=1, max_length=50)]


class ScorecardFields(Model):
    """POST /api/scorecards, PUT /api/scorecards/{id}: a scorecard's whole definition."""

    name: Annotated[str, text(max_length=100)]
    description: Comment = ""
    active: bool = True
    sections: Annotated[list[SectionFields], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _ids_unique(self) -> ScorecardFields:
        seen: set[str] = set()
        for s, section in enumerate(self.sections):
            for q, question in enumerate(section.questions):
                if question.id in seen:  # named at its second use, where an editor shows it
                    raise refusal(("sections", s, "questions", q, "id"), question.id,
                                  f"question id {question.id!r} is used twice")
                seen.add(question.id)
        return self


def scorecard_of(fields: ScorecardFields) -> Scorecard:
    return Scorecard(fields.name, tuple(
        Section(section.title, tuple(
            Question(q.id, q.text, q.kind, float(q.weight), q.critical, int(q.scale),
                     tuple(Choice(c.label, float(c.score)) for c in q.choices),
                     None if q.auto is None else Auto(q.auto.category, q.auto.found,
                                                      q.auto.figure, q.auto.at_most,
                                                      q.auto.at_least))
            for q in section.questions))
        for section in fields.sections))


def stored_scorecard(definition: dict[str, Any]) -> Scorecard:
    """A scorecard from its stored JSON (ScorecardFields' dump)."""
    return scorecard_of(ScorecardFields.model_validate(definition))


AnswerValue = bool | Annotated[int, Field(ge=0, le=10)] | Annotated[str, text(max_length=100)]


class AnswerFields(Model):
    value: AnswerValue
    comment: Comment = ""


class EvaluationFields(Model):
    """POST /api/recordings/{id}/evaluations, PUT /api/evaluations/{id}: the answers (one per
    question, by id, each with a comment) and an overall comment."""

    scorecard_id: Annotated[Whole, Field(ge=1, le=2_147_483_647), WHOLE]
    answers: Annotated[dict[QuestionId, AnswerFields], Field(max_length=500)]
    comment: Comment = ""


class AgentReply(Model):
    """POST /api/evaluations/{id}/acknowledge|dispute: the agent's comment (a dispute needs
    one)."""

    comment: Comment = ""
