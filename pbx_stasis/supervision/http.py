"""HTTP routes of supervision: live calls to supervise, listen/whisper/barge, switch, stop, audit.

Route table entries (pbx_stasis.web.routing.Route) for the web sidecar's table. The handlers
reach the Stasis side's supervision through the aiohttp app key SUPERVISION, a
`SupervisionControl` (service.py): the `Supervision` itself when one process runs both, or the
proxy that pbx_stasis.remote generates from the interface (`pbx run --part web`); without it
they answer 503.
Supervisors and up only; every object is looked up in the session's tenant (another tenant's
call or session is answered 404, like one that does not exist), and a supervisor acts only on
their own sessions (managers and admins on any).
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.runner import Talk
from pbx_stasis.store.tables import Role
from pbx_stasis.supervision.audit import SegmentRecord
from pbx_stasis.supervision.core import Mode
from pbx_stasis.supervision.service import SessionView, SupervisionControl, SupervisionError
from pbx_stasis.validation import (
    QUERY_WHOLE,
    Model,
    ModelBody,
    ModelQuery,
    left_out,
    text,
)
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode
from pbx_stasis.web.routing import (
    Handler,
    Route,
    RouteRequest,
    WebError,
    at_least,
    from_service,
    no_content,
    not_found,
    reply,
)

# The Supervision itself (one process runs both) or a proxy forwarding to it.
SUPERVISION: web.AppKey[SupervisionControl] = web.AppKey("supervision")
SUPERVISORS = at_least(Role.SUPERVISOR)
# Managers and admins may end or switch anyone's session; supervisors only their own.
OVERSEERS = frozenset({Role.MANAGER, Role.ADMIN})

def supervision_of(req: RouteRequest) -> SupervisionControl:
    service = req.http.app.get(SUPERVISION)
    if service is None:
        raise WebError(503, "unavailable", "Supervision is not available in this process")
    return service


def _answering(handler: Handler) -> Handler:
    """A SupervisionError the handler did not turn into something else (the Stasis process
    is unreachable, Asterisk is down...) is answered with its status and message."""

    @wraps(handler)
    async def answer(req: RouteRequest) -> web.StreamResponse:
        try:
            return await handler(req)
        except SupervisionError as error:
            raise from_service(error) from None

    return answer


def talk_json(talk: Talk, since: datetime | None, sessions: list[SessionView]) -> dict[str, Any]:
    return {
        "call_id": talk.call_id,
        "queue": talk.queue,
        "agent_user_id": talk.agent_user_id,
        "from_number": talk.from_number,
        "connected_at": since,
        "sessions": [session_json(session) for session in sessions],
    }


def session_json(session: SessionView) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "call_id": session.call_id,
        "supervisor_user_id": session.supervisor_user_id,
        "agent_user_id": session.agent_user_id,
        "mode": session.mode.value if session.mode else None,
        "started_at": session.started_at,
    }


def segment_json(row: SegmentRecord) -> dict[str, Any]:
    return {
        "session_id": row.session_id,
        "call_id": row.call_id,
        "supervisor_user_id": row.supervisor_user_id,
        "supervisor_line": row.supervisor_line,
        "agent_user_id": row.agent_user_id,
        "mode": row.mode,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "end_reason": row.end_reason,
    }


@_answering
async def list_supervised_calls(req: RouteRequest) -> web.StreamResponse:
    found = await supervision_of(req).supervised_calls(req.who.tenant_id)
    return reply({"calls": [talk_json(c.talk, c.connected_at, c.sessions) for c in found]})


@_answering
async def list_supervision_sessions(req: RouteRequest) -> web.StreamResponse:
    sessions = await supervision_of(req).sessions(req.who.tenant_id)
    return reply({"sessions": [session_json(s) for s in sessions]})


class HistoryQuery(Model):
    """GET /api/supervision/history: one call's sessions, or the newest."""

    call_id: Annotated[str, text(max_length=32)] = left_out()
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100


HISTORY_QUERY = ModelQuery(HistoryQuery)


@_answering
async def supervision_history(req: RouteRequest) -> web.StreamResponse:
    """The audit: who supervised which call, in which mode, from when to when."""
    service = supervision_of(req)
    rows = await service.history(
        req.who.tenant_id, call_id=req.query.get("call_id"), limit=req.query["limit"]
    )
    return reply({"segments": [segment_json(row) for row in rows]})


async def _line_of(req: RouteRequest) -> str:
    """The supervisor's own softphone, as an ARI endpoint (PJSIP/<endpoint>)."""
    who = req.who
    try:
        credentials = await acd_of(req).sip_credentials(who.tenant_id, who.user_id)
    except ServiceError as error:
        if error.code is ServiceErrorCode.NOT_FOUND:
            raise WebError(409, "no-phone", "You have no softphone to supervise with") from None
        raise
    user = credentials.uri.removeprefix("sip:").split("@", 1)[0]
    if not user:
        raise WebError(409, "no-phone", "Your softphone has no SIP user")
    return f"PJSIP/{user}"


async def _start(req: RouteRequest, mode: Mode) -> web.StreamResponse:
    service = supervision_of(req)
    who = req.who
    call_id = req.param("call_id")
    if await service.talk(who.tenant_id, call_id) is None:
        raise not_found("call connected to an agent")
    line = await _line_of(req)
    # The audit names the person logged in here, whichever process rings their phone.
    session = await service.start(
        who.tenant_id, call_id, line, mode, supervisor_user_id=who.user_id
    )
    return reply({"session": session_json(session)}, status=201)


@_answering
async def start_listen(req: RouteRequest) -> web.StreamResponse:
    return await _start(req, Mode.LISTEN)


@_answering
async def start_whisper(req: RouteRequest) -> web.StreamResponse:
    return await _start(req, Mode.WHISPER)


@_answering
async def start_barge(req: RouteRequest) -> web.StreamResponse:
    return await _start(req, Mode.BARGE)


async def _own_session(req: RouteRequest, service: SupervisionControl) -> SessionView:
    who = req.who
    try:
        session = await service.session(who.tenant_id, req.param("session_id"))
    except SupervisionError as error:
        if error.code != "not-found":
            raise
        raise not_found("supervision session") from None
    if who.role not in OVERSEERS and session.supervisor_user_id != who.user_id:
        raise not_found("supervision session")
    return session


class ModeSwitch(Model):
    """POST /api/supervision/sessions/{id}/mode: the session's new mode."""

    mode: Mode


SWITCH = ModelBody(ModeSwitch)


@_answering
async def switch_supervision(req: RouteRequest) -> web.StreamResponse:
    service = supervision_of(req)
    session = await _own_session(req, service)
    switched = await service.switch(
        session.session_id, Mode(req.body["mode"]), tenant_id=req.who.tenant_id
    )
    return reply(
        {"session": session_json(switched.session), "took_ms": round(switched.took * 1000, 1)}
    )


@_answering
async def stop_supervision(req: RouteRequest) -> web.StreamResponse:
    service = supervision_of(req)
    session = await _own_session(req, service)
    await service.stop(session.session_id, tenant_id=req.who.tenant_id)
    return no_content()


def _mode_route(verb: str, handler: Handler, summary: str) -> Route:
    return Route("POST", f"/api/supervision/calls/{{call_id}}/{verb}", handler, SUPERVISORS,
                 summary, tag="supervision")


ROUTES: list[Route] = [
    Route("GET", "/api/supervision/calls", list_supervised_calls, SUPERVISORS,
          "Calls connected to an agent, with the supervision sessions on each",
          tag="supervision"),
    _mode_route("listen", start_listen,
                "Ring my softphone to hear both sides of the call (nobody hears me)"),
    _mode_route("whisper", start_whisper,
                "Ring my softphone to coach the agent (the caller does not hear me)"),
    _mode_route("barge", start_barge,
                "Ring my softphone to join the call (both sides hear me)"),
    Route("GET", "/api/supervision/sessions", list_supervision_sessions, SUPERVISORS,
          "Live supervision sessions", tag="supervision"),
    Route("POST", "/api/supervision/sessions/{session_id}/mode", switch_supervision,
          SUPERVISORS, "Switch a session between listen, whisper and barge (stays connected)",
          body=SWITCH, tag="supervision"),
    Route("DELETE", "/api/supervision/sessions/{session_id}", stop_supervision, SUPERVISORS,
          "End a supervision session (hangs up the supervisor's phone)", tag="supervision"),
    Route("GET", "/api/supervision/history", supervision_history, SUPERVISORS,
          "The supervision audit: who supervised which call, in which mode, when",
          query=HISTORY_QUERY, tag="supervision"),
]
