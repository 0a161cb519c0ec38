"""API of callbacks: the tenant's callbacks (an agent's own: their queues', those they asked
for or were reserved for), a callback asked for a number at a time (the dialling policy judges
the number now and again when it is dialled), and cancelling one not dialled yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from aiohttp import web

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.callbacks.caps import within_cap
from pbx_stasis.callbacks.store import Callback, CallbackStore
from pbx_stasis.callbacks.tables import CallbackSource, CallbackStatus
from pbx_stasis.dialing.compliance_store import Compliance
from pbx_stasis.dialing.policy import MAX_NUMBER_LENGTH
from pbx_stasis.dialing.policy_store import DialPolicies
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import Model, ModelBody, ModelQuery, QueryFlag, text
from pbx_stasis.web.contract import ServiceError
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    conflict,
    invalid,
    not_found,
    reply,
)

MAX_AHEAD = timedelta(days=90)  # a callback further ahead is a task, not a callback


class CallbackList(Model):
    """GET /api/callbacks: pending ones (all: finished ones too), of one queue or every one."""

    queue: Annotated[str, text(max_length=64)] | None = None
    all: QueryFlag = False


class NewCallback(Model):
    """POST /api/callbacks: call `number` back through `queue`, at `at` (ISO 8601 with its
    offset; left out: now)."""

    number: Annotated[str, text(max_length=MAX_NUMBER_LENGTH)]
    queue: Annotated[str, text(max_length=64)]
    at: Annotated[str, text(max_length=40)] | None = None
    contact: Annotated[str, text(max_length=200)] | None = None


LIST = ModelQuery(CallbackList)
CREATE = ModelBody(NewCallback)


async def _own_scope(req: RouteRequest) -> tuple[list[str] | None, int | None]:
    """An agent sees their queues' callbacks and their own; supervisors and up the tenant's."""
    who = req.who
    if who.role is not Role.AGENT:
        return None, None
    try:
        profile = await acd_of(req).agent_profile(who.tenant_id, who.user_id)
    except ServiceError:
        return [], who.user_id  # not an agent of any queue: their own callbacks only
    return sorted(profile.queues), who.user_id


async def list_callbacks(req: RouteRequest) -> web.StreamResponse:
    queues, agent_user_id = await _own_scope(req)
    wanted = req.query["queue"]
    if wanted is not None:
        queues = [wanted] if queues is None or wanted in queues else []
        agent_user_id = None
    items = await CallbackStore(req.site.ctx.db).listed(
        req.who.tenant_id, queues=queues, agent_user_id=agent_user_id,
        pending=not req.query["all"])
    return reply({"callbacks": [item.json() for item in items]})


def _when(text_value: str | None) -> datetime:
    now = datetime.now(UTC)
    if text_value is None:
        return now
    try:
        at = datetime.fromisoformat(text_value)
    except ValueError:
        raise invalid({"at": "is not a date and time (ISO 8601, e.g. 2026-12-02T15:30:00+01:00)"}
                      ) from None
    if at.tzinfo is None:
        raise invalid({"at": "needs its UTC offset (e.g. +01:00 or Z)"})
    if at - now > MAX_AHEAD:
        raise invalid({"at": "is more than 90 days ahead"})
    return max(at.astimezone(UTC), now)


async def create_callback(req: RouteRequest) -> web.StreamResponse:
    who, body = req.who, req.body
    due = _when(body.get("at"))
    queues = {config.name for config in await acd_of(req).queues(who.tenant_id)}
    if body["queue"] not in queues:
        raise invalid({"queue": "no such queue"})
    policies = DialPolicies(req.site.ctx.db, req.site.ctx.settings.crm.region)
    # The number is judged as the dialler will judge it (no person's role: whoever asked, the
    # contact center calls back, through the agent the queue reserves).
    verdict = await policies.judge(who.tenant_id, body["number"], role=None)
    if verdict.reason == "invalid":  # not a number that could be dialled: the input is wrong
        raise invalid({"number": verdict.message})
    if not verdict.allowed or verdict.number is None:
        policies.journal_refusal(who.tenant_id, body["number"], verdict,
                                 agent_user_id=who.user_id, by=who.username)
        raise WebError(403, "forbidden", verdict.message, {"number": verdict.message})
    store = CallbackStore(req.site.ctx.db, req.site.ctx.bus)
    capped = await within_cap(Compliance(req.site.ctx.db, req.site.ctx.settings.crm.region),
                              store, who.tenant_id, verdict.number, now=datetime.now(UTC),
                              agent_user_id=who.user_id, by=who.username)
    if not capped.allowed:
        raise WebError(403, "forbidden", capped.message, {"number": capped.message})
    callback = await store.create(
        tenant_id=who.tenant_id, queue=body["queue"], number=verdict.number,
        contact=body.get("contact") or "", source=CallbackSource.API, due_at=due,
        requested_by=who.user_id)
    return reply({"callback": callback.json()}, status=201)


async def cancel_callback(req: RouteRequest) -> web.StreamResponse:
    store = CallbackStore(req.site.ctx.db, req.site.ctx.bus)
    callback_id = req.param("callback_id")
    found = await store.get(req.who.tenant_id, callback_id)
    if found is None or not await _may_see(req, found):
        raise not_found("callback")
    cancelled = await store.cancel(req.who.tenant_id, callback_id)
    assert cancelled is not None
    if cancelled.status not in (CallbackStatus.CANCELLED, CallbackStatus.CANCELLING):
        raise conflict("callback-under-way",
                       f"the callback is {cancelled.status}: too late to cancel it")
    return reply({"callback": cancelled.json()})


async def _may_see(req: RouteRequest, callback: Callback) -> bool:
    queues, agent_user_id = await _own_scope(req)
    return queues is None or callback.queue in queues or agent_user_id in (
        callback.agent_user_id, callback.requested_by)


ROUTES = [
    Route("GET", "/api/callbacks", list_callbacks, ANYONE,
          "Callbacks waiting or under way (all=true: finished ones too); an agent's own list: "
          "their queues' and those they asked for or were reserved for", query=LIST,
          tag="callbacks"),
    Route("POST", "/api/callbacks", create_callback, ANYONE,
          "Ask for a callback: the number (judged by the tenant's dialling policy now and "
          "when it is dialled) joins the queue at its time and keeps its place there",
          body=CREATE, tag="callbacks"),
    Route("DELETE", "/api/callbacks/{callback_id}", cancel_callback, ANYONE,
          "Cancel a callback that has not been dialled yet", tag="callbacks"),
]
