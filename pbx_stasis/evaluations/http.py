"""HTTP routes of evaluations: the tenant's scorecards (admins write them, supervisors read them),
evaluating a recorded call (supervisors and up: a draft with the automatic answers, then the
answers), the evaluations per agent (an agent sees their own only) and the agent's answer
(acknowledge, dispute). Every read and write is within the session's tenant: another tenant's
scorecard, recording or evaluation is 404."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from pbx_stasis.evaluations.core import AnswerError
from pbx_stasis.evaluations.model import AgentReply, EvaluationFields, ScorecardFields
from pbx_stasis.evaluations.service import EVALUATIONS, Evaluations, EvaluationView
from pbx_stasis.store.tables import Role, User
from pbx_stasis.validation import (
    QUERY_WHOLE,
    Model,
    ModelBody,
    ModelQuery,
    QueryFlag,
    left_out,
    text,
)
from pbx_stasis.web.call_access import only_agent
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, at_least, invalid, reply

SUPERVISORS = at_least(Role.SUPERVISOR)
ADMINS = frozenset({Role.ADMIN})
DB_ID = Annotated[int, Field(ge=1, le=2_147_483_647), QUERY_WHOLE]


def evaluations_of(req: RouteRequest) -> Evaluations:
    return req.http.app[EVALUATIONS]


async def _names(req: RouteRequest, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    statement = select(User.id, User.display_name, User.username).where(
        User.tenant_id == req.who.tenant_id, User.id.in_(ids))
    async with req.site.ctx.db.session() as session:
        return {uid: display or username
                for uid, display, username in (await session.execute(statement)).all()}


async def _json(req: RouteRequest, views: list[EvaluationView]) -> list[dict[str, Any]]:
    names = await _names(req, {v.agent_user_id for v in views if v.agent_user_id}
                         | {v.evaluator_user_id for v in views})
    return [{**to_json(v), "agent_name": names.get(v.agent_user_id or 0),
             "evaluator_name": names.get(v.evaluator_user_id)} for v in views]


# --- scorecards ----------------------------------------------------------------------------

class ScorecardQuery(Model):
    """GET /api/scorecards: all, or the active ones only."""

    active: QueryFlag = False


async def list_scorecards(req: RouteRequest) -> web.StreamResponse:
    found = await evaluations_of(req).scorecards(req.who.tenant_id,
                                                 active_only=req.query["active"])
    return reply({"scorecards": [to_json(card) for card in found]})


async def get_scorecard(req: RouteRequest) -> web.StreamResponse:
    card = await evaluations_of(req).scorecard(
        req.who.tenant_id, req.int_param("scorecard_id", "scorecard"))
    return reply({"scorecard": to_json(card)})


async def create_scorecard(req: RouteRequest) -> web.StreamResponse:
    card = await evaluations_of(req).save_scorecard(
        req.who.tenant_id, ScorecardFields.model_validate(req.body), req.who.user_id)
    return reply({"scorecard": to_json(card)}, status=201)


async def update_scorecard(req: RouteRequest) -> web.StreamResponse:
    card = await evaluations_of(req).save_scorecard(
        req.who.tenant_id, ScorecardFields.model_validate(req.body), req.who.user_id,
        req.int_param("scorecard_id", "scorecard"))
    return reply({"scorecard": to_json(card)})


# --- evaluating ----------------------------------------------------------------------------

class DraftQuery(Model):
    """GET /api/recordings/{id}/evaluation-draft: with which scorecard."""

    scorecard_id: DB_ID


async def evaluation_draft(req: RouteRequest) -> web.StreamResponse:
    draft = await evaluations_of(req).draft(req.who.tenant_id, req.param("recording_id"),
                                            req.query["scorecard_id"])
    return reply({"draft": to_json(draft)})


def _refused(exc: AnswerError) -> Exception:
    return invalid({f"answers.{key}": message for key, message in exc.problems.items()})


async def evaluate(req: RouteRequest) -> web.StreamResponse:
    try:
        view = await evaluations_of(req).evaluate(
            req.who.tenant_id, req.param("recording_id"),
            EvaluationFields.model_validate(req.body), req.who.user_id)
    except AnswerError as exc:
        raise _refused(exc) from None
    return reply({"evaluation": (await _json(req, [view]))[0]}, status=201)


async def rescore(req: RouteRequest) -> web.StreamResponse:
    try:
        view = await evaluations_of(req).rescore(
            req.who.tenant_id, req.int_param("evaluation_id", "evaluation"),
            EvaluationFields.model_validate(req.body), req.who.user_id)
    except AnswerError as exc:
        raise _refused(exc) from None
    return reply({"evaluation": (await _json(req, [view]))[0]})


class EvaluationSearch(Model):
    """GET /api/evaluations: newest first; an agent gets their own whatever they ask."""

    agent: DB_ID = left_out()
    recording: Annotated[str, text(max_length=64)] = left_out()
    queue: Annotated[str, text(max_length=100)] = left_out()
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100


async def list_evaluations(req: RouteRequest) -> web.StreamResponse:
    own = only_agent(req.who)
    found = await evaluations_of(req).search(
        req.who.tenant_id, agent_user_id=own if own is not None else req.query.get("agent"),
        recording_id=req.query.get("recording"), queue=req.query.get("queue"),
        limit=req.query["limit"])
    return reply({"evaluations": await _json(req, found)})


async def get_evaluation(req: RouteRequest) -> web.StreamResponse:
    view = await evaluations_of(req).get(
        req.who.tenant_id, req.int_param("evaluation_id", "evaluation"), only_agent(req.who))
    return reply({"evaluation": (await _json(req, [view]))[0]})


def _answer(move: str) -> Any:
    async def handle(req: RouteRequest) -> web.StreamResponse:
        view = await evaluations_of(req).respond(
            req.who.tenant_id, req.int_param("evaluation_id", "evaluation"), req.who.user_id,
            move, AgentReply.model_validate(req.body or {}).comment)
        return reply({"evaluation": (await _json(req, [view]))[0]})

    handle.__name__ = handle.__qualname__ = f"{move}_evaluation"
    return handle


SCORECARD = ModelBody(ScorecardFields)
EVALUATION = ModelBody(EvaluationFields)
REPLY = ModelBody(AgentReply)

ROUTES: list[Route] = [
    Route("GET", "/api/scorecards", list_scorecards, SUPERVISORS,
          "The tenant's evaluation scorecards", query=ModelQuery(ScorecardQuery),
          tag="evaluations"),
    Route("POST", "/api/scorecards", create_scorecard, ADMINS,
          "A new scorecard: sections of questions (yes/no, scale, choice) with weights, "
          "critical questions, answers from the call's insights", body=SCORECARD,
          tag="evaluations"),
    Route("GET", "/api/scorecards/{scorecard_id}", get_scorecard, SUPERVISORS,
          "One scorecard", tag="evaluations"),
    Route("PUT", "/api/scorecards/{scorecard_id}", update_scorecard, ADMINS,
          "A scorecard's new definition (past evaluations keep the one they were made with)",
          body=SCORECARD, tag="evaluations"),
    Route("GET", "/api/recordings/{recording_id}/evaluation-draft", evaluation_draft,
          SUPERVISORS, "The answers a scorecard's automatic questions get from the call's "
          "insights", query=ModelQuery(DraftQuery), tag="evaluations"),
    Route("POST", "/api/recordings/{recording_id}/evaluations", evaluate, SUPERVISORS,
          "Evaluate a recorded call with a scorecard", body=EVALUATION, tag="evaluations"),
    Route("GET", "/api/evaluations", list_evaluations, ANYONE,
          "Evaluations, newest first (an agent sees their own)",
          query=ModelQuery(EvaluationSearch), tag="evaluations"),
    Route("GET", "/api/evaluations/{evaluation_id}", get_evaluation, ANYONE,
          "One evaluation with its answers and comments (an agent: their own)",
          tag="evaluations"),
    Route("PUT", "/api/evaluations/{evaluation_id}", rescore, SUPERVISORS,
          "Score an evaluation again (after a dispute): back to submitted", body=EVALUATION,
          tag="evaluations"),
    Route("POST", "/api/evaluations/{evaluation_id}/acknowledge", _answer("acknowledge"),
          ANYONE, "The agent evaluated acknowledges their evaluation", body=REPLY,
          tag="evaluations"),
    Route("POST", "/api/evaluations/{evaluation_id}/dispute", _answer("dispute"), ANYONE,
          "The agent evaluated disputes their evaluation (with a comment)", body=REPLY,
          tag="evaluations"),
]
