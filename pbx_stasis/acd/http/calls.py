"""API of calls: live calls, history with the journal, and call control (hold, transfer, DTMF...).

Who sees which call is web/call_access.py's rule: agents their own calls, supervisors and up
every call of their tenant. A call one may not see is answered 404 like a call that does not
exist, so ids cannot be probed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.service import LiveCall, TransferKind
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIdNumber
from pbx_stasis.store.tables import Call, CallEvent, Role, User
from pbx_stasis.validation import (
    DB_INT_MAX,
    QUERY_WHOLE,
    WHOLE,
    Flag,
    Model,
    ModelBody,
    ModelQuery,
    Whole,
    text,
)
from pbx_stasis.web.call_access import may_see_call, only_agent
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    at_least,
    invalid,
    no_content,
    not_found,
    reply,
)

DIALABLE = r"\+?[0-9*#]{1,32}"
DIALABLE_HINT = "must be a number to dial: digits (and * #), optionally starting with +"


async def _live_call(req: RouteRequest) -> LiveCall:
    """The live call named in the path, if this user may act on it."""
    who = req.who
    call_id = req.param("call_id")
    for call in await acd_of(req).live_calls(who.tenant_id):
        if call.call_id == call_id:
            if may_see_call(who, call.agent_user_id):
                return call
            break
    raise not_found("live call")


async def list_live_calls(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    calls = await acd_of(req).live_calls(who.tenant_id)
    calls = [call for call in calls if may_see_call(who, call.agent_user_id)]
    return reply({"calls": [to_json(call) for call in calls]})


class CallHistoryQuery(Model):
    """GET /api/calls: a page of the call history, newest first."""

    limit: Annotated[int, Field(ge=1, le=200), QUERY_WHOLE] = 50
    offset: Annotated[int, Field(ge=0, le=100_000), QUERY_WHOLE] = 0


HISTORY_QUERY = ModelQuery(CallHistoryQuery)


def _call_json(call: Call, agent_name: str | None) -> dict[str, Any]:
    duration = None
    if call.answered_at is not None and call.ended_at is not None:
        duration = max(0, round((call.ended_at - call.answered_at).total_seconds()))
    return {
        "call_id": call.id,
        "direction": call.direction,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": duration,
        "queue": call.queue,
        "agent_user_id": call.agent_user_id,
        "agent_name": agent_name,
        "status": call.status,
        "disposition": call.disposition,
        "notes": call.notes,
    }


async def list_calls(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    statement = (
        select(Call, User.display_name)
        .outerjoin(User, User.id == Call.agent_user_id)
        .where(Call.tenant_id == who.tenant_id)
        .order_by(Call.started_at.desc(), Call.id)
        .limit(req.query["limit"])
        .offset(req.query["offset"])
    )
    agent = only_agent(who)
    if agent is not None:
        statement = statement.where(Call.agent_user_id == agent)
    async with req.site.ctx.db.session() as session:
        rows = (await session.execute(statement)).all()
    return reply({"calls": [_call_json(call, name) for call, name in rows]})


async def get_call(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    call_id = req.param("call_id")
    statement = (
        select(Call, User.display_name)
        .outerjoin(User, User.id == Call.agent_user_id)
        .where(Call.tenant_id == who.tenant_id, Call.id == call_id)
    )
    events = (
        select(CallEvent)
        .where(CallEvent.tenant_id == who.tenant_id, CallEvent.call_id == call_id)
        .order_by(CallEvent.id)
    )
    async with req.site.ctx.db.session() as session:
        row = (await session.execute(statement)).first()
        if row is None:
            raise not_found("call")
        call, name = row
        if not may_see_call(who, call.agent_user_id):
            raise not_found("call")
        journal = [
            {
                "at": event.at,
                "event": event.event,
                "queue": event.queue,
                "agent_user_id": event.agent_user_id,
                "data": event.data,
            }
            for event in await session.scalars(events)
        ]
    return reply({"call": _call_json(call, name), "events": journal})


class DialRequest(Model):
    """POST /api/calls/dial: the number an agent dials, and the caller ID to present (one of
    the tenant's outbound numbers, GET /api/dialing/caller-ids; left out: the default rule)."""

    number: Annotated[str, text(max_length=32, pattern=DIALABLE, hint=DIALABLE_HINT)]
    caller_id: CallerIdNumber | None = None


DIAL = ModelBody(DialRequest)


async def dial(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    caller_id = req.body.get("caller_id")
    if caller_id is not None:  # refused here with the field's name, before anything rings
        numbers = await CallerIdStore(req.site.ctx.db).caller_ids(who.tenant_id)
        if not numbers.owns(caller_id):
            raise invalid({"caller_id": f"{caller_id} is not one of your numbers"})
    call_id = await acd_of(req).dial(who.tenant_id, who.user_id, req.body["number"], caller_id)
    return reply({"call_id": call_id}, status=201)


def _act_on_call(action: str) -> Callable[[RouteRequest], Awaitable[web.StreamResponse]]:
    """A handler that applies one ContactCenter call-control method (hangup, hold...)."""

    async def handle(req: RouteRequest) -> web.StreamResponse:
        call = await _live_call(req)
        control: Callable[[int, str], Awaitable[None]] = getattr(acd_of(req), action)
        await control(req.who.tenant_id, call.call_id)
        return no_content()

    handle.__name__ = action  # the route's operation id
    return handle


hangup, hold, unhold, mute, unmute = (
    _act_on_call(action) for action in ("hangup", "hold", "unhold", "mute", "unmute")
)


class TransferRequest(Model):
    """POST /api/calls/{id}/transfer: to an agent, a queue or a number."""

    kind: TransferKind
    target: Annotated[str, text(max_length=100)]
    attended: Flag = False


TRANSFER = ModelBody(TransferRequest, defaults=True)


async def _check_transfer_target(req: RouteRequest, kind: TransferKind, target: str) -> str:
    who = req.who
    if kind is TransferKind.NUMBER:
        if not re.fullmatch(DIALABLE, target):
            raise invalid({"target": DIALABLE_HINT})
        return target
    if kind is TransferKind.QUEUE:
        names = [queue.name for queue in await acd_of(req).queues(who.tenant_id)]
        if target not in names:
            raise invalid({"target": "must be a queue of yours: " + ", ".join(names)})
        return target
    # ASCII digits within the database's integer range: int("²") raises, and a larger id
    # overflows the query.
    if not (target.isascii() and target.isdigit()) or int(target) > DB_INT_MAX:
        raise invalid({"target": "must be the user id of an agent"})
    statement = select(User.id).where(
        User.id == int(target), User.tenant_id == who.tenant_id, User.disabled.is_(False)
    )
    async with req.site.ctx.db.session() as session:
        if await session.scalar(statement) is None:
            raise invalid({"target": "is not an agent of yours"})
    return target


async def transfer(req: RouteRequest) -> web.StreamResponse:
    call = await _live_call(req)
    kind = TransferKind(req.body["kind"])
    target = await _check_transfer_target(req, kind, req.body["target"])
    await acd_of(req).transfer(
        req.who.tenant_id, call.call_id, kind, target, bool(req.body["attended"])
    )
    return no_content()


async def complete_transfer(req: RouteRequest) -> web.StreamResponse:
    call = await _live_call(req)
    await acd_of(req).complete_transfer(req.who.tenant_id, call.call_id)
    return no_content()


async def cancel_transfer(req: RouteRequest) -> web.StreamResponse:
    call = await _live_call(req)
    await acd_of(req).cancel_transfer(req.who.tenant_id, call.call_id)
    return no_content()


class DtmfRequest(Model):
    """POST /api/calls/{id}/dtmf: digits to send on the call."""

    digits: Annotated[str, text(
        max_length=32, pattern=r"[0-9*#A-Da-d]+", hint="must be DTMF digits: 0-9, *, #, A-D"
    )]


DTMF = ModelBody(DtmfRequest)


async def send_dtmf(req: RouteRequest) -> web.StreamResponse:
    call = await _live_call(req)
    await acd_of(req).send_dtmf(req.who.tenant_id, call.call_id, req.body["digits"].upper())
    return no_content()


class MoveRequest(Model):
    """POST /api/calls/{id}/move: the queue a waiting caller goes to."""

    queue: Annotated[str, text(max_length=100)]


class PriorityRequest(Model):
    """POST /api/calls/{id}/priority: a waiting caller's new priority (higher first)."""

    priority: Annotated[Whole, Field(ge=0, le=100), WHOLE]


MOVE = ModelBody(MoveRequest)
PRIORITY = ModelBody(PriorityRequest)
SUPERVISORS = at_least(Role.SUPERVISOR)


async def move_waiting(req: RouteRequest) -> web.StreamResponse:
    """A supervisor moves a waiting caller to another queue of the tenant."""
    call = await _live_call(req)
    queue = req.body["queue"]
    names = [q.name for q in await acd_of(req).queues(req.who.tenant_id)]
    if queue not in names:
        raise invalid({"queue": "must be a queue of yours: " + ", ".join(names)})
    await acd_of(req).move_waiting(req.who.tenant_id, call.call_id, queue, req.who.username)
    return no_content()


async def prioritize_waiting(req: RouteRequest) -> web.StreamResponse:
    """A supervisor sets a waiting caller's priority: higher goes first."""
    call = await _live_call(req)
    await acd_of(req).prioritize_waiting(req.who.tenant_id, call.call_id,
                                         req.body["priority"], req.who.username)
    return no_content()


async def voicemail_waiting(req: RouteRequest) -> web.StreamResponse:
    """A supervisor sends a waiting caller to their queue's mailbox."""
    call = await _live_call(req)
    await acd_of(req).voicemail_waiting(req.who.tenant_id, call.call_id, req.who.username)
    return no_content()


def _control(verb: str, handler: Any, summary: str) -> Route:
    return Route(
        "POST", f"/api/calls/{{call_id}}/{verb}", handler, ANYONE, summary, tag="call control"
    )


ROUTES = [
    Route(
        "GET",
        "/api/calls/live",
        list_live_calls,
        ANYONE,
        "Live calls (an agent sees their own)",
        tag="calls",
    ),
    Route(
        "GET",
        "/api/calls",
        list_calls,
        ANYONE,
        "Call history, newest first (an agent sees their own)",
        query=HISTORY_QUERY,
        tag="calls",
    ),
    Route(
        "GET",
        "/api/calls/{call_id}",
        get_call,
        ANYONE,
        "One call with its journal lines",
        tag="calls",
    ),
    Route(
        "POST",
        "/api/calls/dial",
        dial,
        ANYONE,
        "Call a number from my softphone (click-to-call, dial pad)",
        body=DIAL,
        tag="call control",
    ),
    _control("hangup", hangup, "Hang up the call"),
    _control("hold", hold, "Put the caller on hold (music on hold)"),
    _control("unhold", unhold, "Take the caller off hold"),
    _control("mute", mute, "Stop my audio reaching the caller"),
    _control("unmute", unmute, "Let my audio reach the caller again"),
    Route(
        "POST",
        "/api/calls/{call_id}/transfer",
        transfer,
        ANYONE,
        "Transfer to an agent, a queue or a number; blind, or attended (consult first)",
        body=TRANSFER,
        tag="call control",
    ),
    _control("transfer/complete", complete_transfer, "Complete an attended transfer"),
    _control("transfer/cancel", cancel_transfer, "Cancel an attended transfer, back to caller"),
    Route(
        "POST",
        "/api/calls/{call_id}/move",
        move_waiting,
        SUPERVISORS,
        "Move a waiting caller to another queue",
        body=MOVE,
        tag="call control",
    ),
    Route(
        "POST",
        "/api/calls/{call_id}/priority",
        prioritize_waiting,
        SUPERVISORS,
        "Set a waiting caller's priority (higher first)",
        body=PRIORITY,
        tag="call control",
    ),
    Route(
        "POST",
        "/api/calls/{call_id}/voicemail",
        voicemail_waiting,
        SUPERVISORS,
        "Send a waiting caller to their queue's mailbox (a message, then the call ends)",
        tag="call control",
    ),
    Route(
        "POST",
        "/api/calls/{call_id}/dtmf",
        send_dtmf,
        ANYONE,
        "Send DTMF digits to the far end",
        body=DTMF,
        tag="call control",
    ),
]
