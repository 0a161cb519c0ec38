"""API of the voicemail inbox: messages per queue and agent (an agent's own share by
voicemail.core.may_read), new per queue for the wallboard, play (audited like a recording),
mark new/heard, assign, delete by hand (supervisors and up) and the tenant's retention.

A message is named by its recording's unguessable id and looked up in the session's tenant on
every request (404 for another tenant's, and for an agent's message they may not read).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.recording.http import AUDIO_TYPES, FILE_TYPES, library_of
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import (
    DB_INT_MAX,
    QUERY_WHOLE,
    WHOLE,
    Model,
    ModelBody,
    ModelQuery,
    Whole,
    left_out,
    text,
)
from pbx_stasis.voicemail.core import (
    MAX_RETENTION_DAYS,
    Reader,
    Status,
    may_assign,
    may_delete,
    may_read,
)
from pbx_stasis.voicemail.service import VOICEMAILS, InboxFilter, Voicemail, Voicemails
from pbx_stasis.web.contract import ServiceError
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    at_least,
    client_ip,
    invalid,
    not_found,
    reply,
)


def voicemails_of(req: RouteRequest) -> Voicemails:
    return req.http.app[VOICEMAILS]


async def reader_of(req: RouteRequest) -> Reader:
    """Who asks, with the queues they belong to (agents only: the others read everything)."""
    who = req.who
    queues: tuple[str, ...] = ()
    if who.role is Role.AGENT:
        try:
            queues = tuple((await acd_of(req).agent_profile(who.tenant_id, who.user_id)).queues)
        except ServiceError:
            queues = ()  # not an agent of any queue: their own mailbox and assigned ones
    return Reader(who.role, who.user_id, who.username, queues)


def voicemail_json(item: Voicemail) -> dict[str, Any]:
    record = item.recording
    return {
        "id": record.id,
        "call_id": record.call_id,
        "mailbox_kind": record.mailbox_kind,
        "mailbox": record.mailbox,
        "mailbox_label": item.mailbox.label,
        "from_number": item.from_number,
        "to_number": item.to_number,
        "started_at": record.started_at,
        "duration_seconds": record.duration_seconds,
        "status": item.status.value,
        "heard_at": item.heard_at,
        "heard_by": item.heard_by,
        "assigned_user_id": item.assigned_user_id,
        "assigned_name": item.assigned_name,
        "audio_url": f"/api/voicemails/{record.id}/audio",
    }


class InboxQuery(Model):
    """GET /api/voicemails: which messages, newest first."""

    mailbox_kind: Literal["queue", "agent", "general"] = left_out(
        description="the mailbox's kind (general: neither a queue's nor an agent's)")
    mailbox: Annotated[str, text(max_length=100)] = left_out(
        description="the queue's or agent's name")
    status: Status = left_out()
    assigned: Annotated[
        int, Field(ge=1, le=DB_INT_MAX, description="assigned to this user id"), QUERY_WHOLE
    ] = left_out()
    limit: Annotated[int, Field(ge=1, le=200), QUERY_WHOLE] = 50
    offset: Annotated[int, Field(ge=0, le=100_000), QUERY_WHOLE] = 0


class StatusFields(Model):
    """PUT /api/voicemails/{id}/status."""

    status: Status


class AssigneeFields(Model):
    """PUT /api/voicemails/{id}/assignee: an agent's user id, or null to clear it."""

    user_id: Annotated[Whole, Field(ge=1, le=DB_INT_MAX), WHOLE] | None = Field(
        description="the agent the message is for; null: nobody")


class RulesFields(Model):
    """PUT /api/voicemail/rules."""

    retention_days: Annotated[Whole, Field(ge=1, le=MAX_RETENTION_DAYS), WHOLE] | None = Field(
        description="delete voicemails after this many days; null keeps them")


LIST = ModelQuery(InboxQuery)
STATUS = ModelBody(StatusFields)
ASSIGNEE = ModelBody(AssigneeFields)
RULES = ModelBody(RulesFields)


async def list_voicemails(req: RouteRequest) -> web.StreamResponse:
    query = req.query
    status = query.get("status")
    wanted = InboxFilter(
        mailbox_kind=query.get("mailbox_kind"), mailbox=query.get("mailbox"),
        status=Status(status) if status is not None else None,
        assigned_user_id=query.get("assigned"), limit=query["limit"], offset=query["offset"])
    found = await voicemails_of(req).inbox(req.who.tenant_id, await reader_of(req), wanted)
    return reply({"voicemails": [voicemail_json(item) for item in found]})


async def voicemail_summary(req: RouteRequest) -> web.StreamResponse:
    """New messages per queue: the wallboard's waiting work."""
    counts = await voicemails_of(req).new_per_queue(req.who.tenant_id)
    return reply({"new_per_queue": counts})


async def _voicemail(req: RouteRequest) -> tuple[Voicemail, Reader]:
    reader = await reader_of(req)
    found = await voicemails_of(req).get(req.who.tenant_id, req.param("voicemail_id"))
    if found is None or not may_read(reader, found.mailbox, found.assigned_user_id):
        raise not_found("voicemail")
    return found, reader


async def get_voicemail(req: RouteRequest) -> web.StreamResponse:
    item, _ = await _voicemail(req)
    return reply({"voicemail": voicemail_json(item)})


async def play_voicemail(req: RouteRequest) -> web.StreamResponse:
    """The message's audio, inline (HTTP Range for seeking); each request audited."""
    item, _ = await _voicemail(req)
    library = library_of(req)
    record = item.recording
    path = library.file_of(record)
    if path is None:
        raise WebError(410, "gone", "The voicemail's file is no longer there")
    await library.note_access(record, user_id=req.who.user_id, action="play",
                              ip=client_ip(req.http), byte_range=req.http.headers.get("Range"))
    return web.FileResponse(path, headers={
        "Content-Type": AUDIO_TYPES.get(record.format, FILE_TYPES[-1]),
        "Content-Disposition": f'inline; filename="voicemail-{record.started_at:%Y%m%d-%H%M%S}'
                               f'.{record.format}"'})


async def set_voicemail_status(req: RouteRequest) -> web.StreamResponse:
    item, _ = await _voicemail(req)
    changed = await voicemails_of(req).mark(item, Status(req.body["status"]),
                                            by_user_id=req.who.user_id)
    return reply({"voicemail": voicemail_json(changed)})


async def set_voicemail_assignee(req: RouteRequest) -> web.StreamResponse:
    item, reader = await _voicemail(req)
    user_id = req.body["user_id"]
    if not may_assign(reader, user_id):
        raise WebError(403, "forbidden", "Agents may only take a voicemail for themselves")
    if user_id is not None:
        agents = {view.user_id for view in await acd_of(req).agents(req.who.tenant_id)}
        if user_id not in agents:
            raise invalid({"user_id": "is not an agent of this tenant"})
    changed = await voicemails_of(req).assign(item, user_id, by_user_id=req.who.user_id)
    return reply({"voicemail": voicemail_json(changed)})


async def delete_voicemail(req: RouteRequest) -> web.StreamResponse:
    item, reader = await _voicemail(req)
    if not may_delete(reader):  # the route says so too; the rule is the core's
        raise WebError(403, "forbidden", "Only supervisors and up delete voicemails")
    await voicemails_of(req).delete(item, by_user_id=req.who.user_id)
    return reply({"deleted": item.recording.id})


async def get_voicemail_rules(req: RouteRequest) -> web.StreamResponse:
    days = await voicemails_of(req).retention_days(req.who.tenant_id)
    return reply({"rules": {"retention_days": days}})


async def set_voicemail_rules(req: RouteRequest) -> web.StreamResponse:
    days = req.body["retention_days"]
    await voicemails_of(req).set_retention_days(req.who.tenant_id, days)
    return reply({"rules": {"retention_days": days}})


def _route(method: str, path: str, handler: Any, roles: frozenset[Role], summary: str,
           **extra: Any) -> Route:
    return Route(method, path, handler, roles, summary, tag="voicemail", **extra)


ROUTES: list[Route] = [
    _route("GET", "/api/voicemails", list_voicemails, ANYONE,
           "Voicemails, newest first, by mailbox, status, assignee (agents: their own mailbox, "
           "their queues' and those assigned to them)", query=LIST),
    _route("GET", "/api/voicemails/summary", voicemail_summary, ANYONE,
           "New voicemails per queue (the wallboard's waiting work)"),
    _route("GET", "/api/voicemails/{voicemail_id}", get_voicemail, ANYONE,
           "One voicemail"),
    _route("GET", "/api/voicemails/{voicemail_id}/audio", play_voicemail, ANYONE,
           "The voicemail's audio to play (HTTP Range; each request audited)",
           produces=FILE_TYPES, ranged=True),
    _route("PUT", "/api/voicemails/{voicemail_id}/status", set_voicemail_status, ANYONE,
           "Mark a voicemail new or heard", body=STATUS),
    _route("PUT", "/api/voicemails/{voicemail_id}/assignee", set_voicemail_assignee, ANYONE,
           "Assign a voicemail to an agent (agents: to themselves)", body=ASSIGNEE),
    _route("DELETE", "/api/voicemails/{voicemail_id}", delete_voicemail,
           at_least(Role.SUPERVISOR), "Delete a voicemail (file and row; journaled)"),
    _route("GET", "/api/voicemail/rules", get_voicemail_rules, at_least(Role.SUPERVISOR),
           "The tenant's voicemail retention"),
    _route("PUT", "/api/voicemail/rules", set_voicemail_rules, frozenset({Role.ADMIN}),
           "Set the tenant's voicemail retention (days; null keeps them)", body=RULES),
]
