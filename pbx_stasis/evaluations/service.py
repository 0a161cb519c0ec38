"""Evaluations in the database: the tenants' scorecards, the evaluations made with them (scored
by core.py, each change published on evaluation:saved), and the answers the call's insights
give. App key EVALUATIONS, built by the plugin's web setup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pbx_stasis.analytics.store import AnalyticsStore
from pbx_stasis.bus import Bus
from pbx_stasis.evaluations import core
from pbx_stasis.evaluations.events import EVALUATION_SAVED, EvaluationSaved
from pbx_stasis.evaluations.model import EvaluationFields, ScorecardFields, stored_scorecard
from pbx_stasis.evaluations.tables import EvaluationRow, ScorecardRow
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import Database, StoreError, utc_now
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode


@dataclass(frozen=True, slots=True)
class ScorecardView:
    id: int
    name: str
    active: bool
    definition: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Draft:
    """What a new evaluation of a recording starts from: the automatic answers and why."""

    recording_id: str
    scorecard_id: int
    automatic: dict[str, dict[str, Any]]  # question id -> {"value", "why"}
    insights: bool  # whether the call has insights at all


@dataclass(frozen=True, slots=True)
class EvaluationView:
    id: int
    scorecard_id: int | None
    scorecard: str
    form: dict[str, Any]
    recording_id: str
    call_id: str
    agent_user_id: int | None
    queue: str | None
    evaluator_user_id: int
    answers: dict[str, Any]
    sections: list[dict[str, Any]]
    score: float
    failed: bool
    overridden: list[str]
    comment: str
    status: str
    agent_comment: str
    created_at: datetime
    updated_at: datetime


def _scorecard_view(row: ScorecardRow) -> ScorecardView:
    return ScorecardView(row.id, row.name, row.active, row.definition, row.updated_at)


def _view(row: EvaluationRow) -> EvaluationView:
    auto = {qid: (answer["auto"], answer.get("why", "")) for qid, answer in row.answers.items()
            if answer.get("auto") is not None}
    values = {qid: answer["value"] for qid, answer in row.answers.items()}
    return EvaluationView(
        row.id, row.scorecard_id, row.scorecard_name, row.form, row.recording_id, row.call_id,
        row.agent_user_id, row.queue, row.evaluator_user_id, row.answers, row.sections,
        row.score, row.failed, core.overridden(values, auto), row.comment, row.status,
        row.agent_comment, row.created_at, row.updated_at)


def _missing(what: str) -> ServiceError:
    return ServiceError(ServiceErrorCode.NOT_FOUND, f"No such {what}")


class Evaluations:
    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus
        self.analytics = AnalyticsStore(db)

    # --- scorecards -------------------------------------------------------------------------

    async def scorecards(self, tenant_id: int, *, active_only: bool = False
                         ) -> list[ScorecardView]:
        statement = select(ScorecardRow).where(ScorecardRow.tenant_id == tenant_id)
        if active_only:
            statement = statement.where(ScorecardRow.active.is_(True))
        async with self.db.session() as session:
            rows = await session.scalars(statement.order_by(ScorecardRow.name))
            return [_scorecard_view(row) for row in rows]

    async def scorecard(self, tenant_id: int, scorecard_id: int) -> ScorecardView:
        async with self.db.session() as session:
            row = await session.get(ScorecardRow, scorecard_id)
        if row is None or row.tenant_id != tenant_id:
            raise _missing("scorecard")
        return _scorecard_view(row)

    async def save_scorecard(self, tenant_id: int, fields: ScorecardFields, by_user_id: int,
                             scorecard_id: int | None = None) -> ScorecardView:
        """A new scorecard, or a new definition of one (past evaluations keep their form)."""
        definition = fields.model_dump(mode="json")
        taken = ServiceError(ServiceErrorCode.CONFLICT,
                             f"a scorecard named {fields.name!r} exists already", "name")
        try:
            async with self.db.transaction() as tx:
                same = await tx.scalar(select(ScorecardRow.id).where(
                    ScorecardRow.tenant_id == tenant_id, ScorecardRow.name == fields.name))
                if same is not None and same != scorecard_id:
                    raise taken
                if scorecard_id is None:
                    row = ScorecardRow(tenant_id=tenant_id, name=fields.name,
                                       active=fields.active, definition=definition,
                                       updated_by=by_user_id, updated_at=utc_now())
                    tx.add(row)
                else:
                    found = await tx.get(ScorecardRow, scorecard_id)
                    if found is None or found.tenant_id != tenant_id:
                        raise _missing("scorecard")
                    row = found
                    row.name, row.active, row.definition = fields.name, fields.active, definition
                    row.updated_by, row.updated_at = by_user_id, utc_now()
                await tx.flush()
                return _scorecard_view(row)
        except StoreError as exc:  # another admin saved the same name meanwhile
            if isinstance(exc.__cause__, IntegrityError):
                raise taken from None
            raise

    # --- evaluating -------------------------------------------------------------------------

    async def _recording(self, tenant_id: int, recording_id: str) -> Recording:
        async with self.db.session() as session:
            row = await session.get(Recording, recording_id)
        if row is None or row.tenant_id != tenant_id or row.kind is not RecordingKind.CALL:
            raise _missing("recording")
        return row

    async def _automatic(self, tenant_id: int, recording_id: str, card: core.Scorecard
                         ) -> tuple[dict[str, tuple[bool, str]], bool]:
        figures = await self.analytics.insights(tenant_id, recording_id)
        return core.automatic(card, figures), figures is not None

    async def draft(self, tenant_id: int, recording_id: str, scorecard_id: int) -> Draft:
        await self._recording(tenant_id, recording_id)
        card = stored_scorecard((await self.scorecard(tenant_id, scorecard_id)).definition)
        auto, has_insights = await self._automatic(tenant_id, recording_id, card)
        return Draft(recording_id, scorecard_id,
                     {qid: {"value": value, "why": why} for qid, (value, why) in auto.items()},
                     has_insights)

    def _scored(self, form: dict[str, Any], fields: EvaluationFields,
                auto: dict[str, tuple[bool, str]]
                ) -> tuple[core.Score, dict[str, Any]]:
        card = stored_scorecard(form)
        result = core.score(card, {qid: a.value for qid, a in fields.answers.items()})
        answers = {qid: {"value": a.value, "comment": a.comment,
                         "auto": auto[qid][0] if qid in auto else None,
                         "why": auto[qid][1] if qid in auto else ""}
                   for qid, a in fields.answers.items()}
        return result, answers

    async def evaluate(self, tenant_id: int, recording_id: str, fields: EvaluationFields,
                       by_user_id: int) -> EvaluationView:
        """A supervisor's evaluation of a recorded call; core.AnswerError when the answers do
        not fit the scorecard."""
        recording = await self._recording(tenant_id, recording_id)
        scorecard = await self.scorecard(tenant_id, fields.scorecard_id)
        if not scorecard.active:
            raise ServiceError(ServiceErrorCode.INVALID, "this scorecard is retired",
                               "scorecard_id")
        auto, _ = await self._automatic(tenant_id, recording_id,
                                        stored_scorecard(scorecard.definition))
        result, answers = self._scored(scorecard.definition, fields, auto)
        now = utc_now()
        async with self.db.transaction() as tx:
            row = EvaluationRow(
                tenant_id=tenant_id, scorecard_id=scorecard.id, scorecard_name=scorecard.name,
                form=scorecard.definition, recording_id=recording.id, call_id=recording.call_id,
                agent_user_id=recording.agent_user_id, queue=recording.queue,
                evaluator_user_id=by_user_id, answers=answers,
                sections=core.sections_json(result.sections), score=result.percent,
                failed=result.failed, comment=fields.comment,
                status=core.Status.SUBMITTED.value, agent_comment="", created_at=now,
                updated_at=now)
            tx.add(row)
            await tx.flush()
            view = _view(row)
        self._publish(tenant_id, view, by_user_id)
        return view

    async def rescore(self, tenant_id: int, evaluation_id: int, fields: EvaluationFields,
                      by_user_id: int) -> EvaluationView:
        """New answers for an evaluation (after a dispute, say), on its own form; back to
        submitted, the agent's comment kept."""
        async with self.db.transaction() as tx:
            row = await tx.get(EvaluationRow, evaluation_id)
            if row is None or row.tenant_id != tenant_id:
                raise _missing("evaluation")
            if fields.scorecard_id != row.scorecard_id:
                raise ServiceError(ServiceErrorCode.INVALID,
                                   "an evaluation keeps its scorecard", "scorecard_id")
            auto, _ = await self._automatic(tenant_id, row.recording_id,
                                            stored_scorecard(row.form))
            result, answers = self._scored(row.form, fields, auto)
            row.answers, row.sections = answers, core.sections_json(result.sections)
            row.score, row.failed, row.comment = result.percent, result.failed, fields.comment
            row.status, row.evaluator_user_id = core.Status.SUBMITTED.value, by_user_id
            row.updated_at = utc_now()
            view = _view(row)
        self._publish(tenant_id, view, by_user_id)
        return view

    async def respond(self, tenant_id: int, evaluation_id: int, agent_user_id: int,
                      move: str, comment: str) -> EvaluationView:
        """The agent evaluated acknowledges or disputes their evaluation."""
        async with self.db.transaction() as tx:
            row = await tx.get(EvaluationRow, evaluation_id)
            if row is None or row.tenant_id != tenant_id or row.agent_user_id != agent_user_id:
                raise _missing("evaluation")
            if move == "dispute" and not comment.strip():
                raise ServiceError(ServiceErrorCode.INVALID, "say what you dispute", "comment")
            try:
                row.status = core.respond(core.Status(row.status), move).value
            except ValueError as exc:
                raise ServiceError(ServiceErrorCode.CONFLICT, str(exc)) from None
            row.agent_comment, row.updated_at = comment, utc_now()
            view = _view(row)
        self._publish(tenant_id, view, agent_user_id)
        return view

    def _publish(self, tenant_id: int, view: EvaluationView, by_user_id: int) -> None:
        self.bus.publish(EVALUATION_SAVED, tenant_id, EvaluationSaved(
            evaluation_id=view.id, recording_id=view.recording_id, call_id=view.call_id,
            agent_user_id=view.agent_user_id, queue=view.queue, scorecard=view.scorecard,
            score=view.score, failed=view.failed, status=view.status, by_user_id=by_user_id,
            at=view.updated_at))

    # --- readers ----------------------------------------------------------------------------

    async def get(self, tenant_id: int, evaluation_id: int, only_agent: int | None
                  ) -> EvaluationView:
        async with self.db.session() as session:
            row = await session.get(EvaluationRow, evaluation_id)
        if row is None or row.tenant_id != tenant_id or (
                only_agent is not None and row.agent_user_id != only_agent):
            raise _missing("evaluation")
        return _view(row)

    async def search(self, tenant_id: int, *, agent_user_id: int | None = None,
                     recording_id: str | None = None, queue: str | None = None,
                     limit: int = 100) -> list[EvaluationView]:
        """The tenant's evaluations, newest first (one agent's, one recording's, one queue's)."""
        statement = select(EvaluationRow).where(EvaluationRow.tenant_id == tenant_id)
        if agent_user_id is not None:
            statement = statement.where(EvaluationRow.agent_user_id == agent_user_id)
        if recording_id is not None:
            statement = statement.where(EvaluationRow.recording_id == recording_id)
        if queue is not None:
            statement = statement.where(EvaluationRow.queue == queue)
        statement = statement.order_by(EvaluationRow.created_at.desc(),
                                       EvaluationRow.id.desc()).limit(limit)
        async with self.db.session() as session:
            return [_view(row) for row in await session.scalars(statement)]


EVALUATIONS: web.AppKey[Evaluations] = web.AppKey("evaluations", Evaluations)
