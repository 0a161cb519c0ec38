"""HTTP routes of tickets: lists with filters, a ticket with its comments, history and calls,
opening one from a call or by hand, changes, comments, linked calls, the due-time targets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.crm.http import own_call, viewer_of
from pbx_stasis.crm.service import crm_of
from pbx_stasis.crm.timeline import Viewer
from pbx_stasis.store.tables import Direction, Role
from pbx_stasis.tickets.core import MOVES, MoveRefused, Priority, Status
from pbx_stasis.tickets.model import (
    LinkedCall,
    NewComment,
    NewTicket,
    Targets,
    TicketChange,
    TicketFromCall,
    TicketQuery,
)
from pbx_stasis.tickets.service import (
    TICKETS,
    TicketDraft,
    TicketRecord,
    TicketRefused,
    Tickets,
    ticket_json,
)
from pbx_stasis.validation import ModelBody, ModelQuery
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    invalid,
    not_found,
    reply,
)


def tickets_of(req: RouteRequest) -> Tickets:
    return req.http.app[TICKETS]


def _refused(exc: TicketRefused | MoveRefused) -> WebError:
    if isinstance(exc, MoveRefused):
        return invalid({"status": str(exc)})
    return invalid({exc.field: str(exc)})


async def _ticket(req: RouteRequest, viewer: Viewer) -> TicketRecord:
    ticket_id = req.int_param("ticket_id", "ticket")
    ticket = await tickets_of(req).get(req.who.tenant_id, ticket_id, viewer)
    if ticket is None:
        raise not_found("ticket")
    return ticket


LIST = ModelQuery(TicketQuery)


async def list_tickets(req: RouteRequest) -> web.StreamResponse:
    """Agents: their own tickets and their queues'; supervisors and above: the tenant's."""
    query = req.query
    viewer = await viewer_of(req)
    now = req.site.now()
    found = await tickets_of(req).search(
        req.who.tenant_id, viewer, now,
        status=query["status"], priority=query["priority"],
        assignee_user_id=req.who.user_id if query["mine"] else query["assignee_user_id"],
        queue=query["queue"], contact_id=query["contact_id"], overdue=query["overdue"],
        limit=query["limit"],
    )
    return reply({"tickets": [ticket_json(ticket, now) for ticket in found]})


async def _queues(req: RouteRequest) -> set[str]:
    return {queue.name for queue in await acd_of(req).queues(req.who.tenant_id)}


async def _check_queue(req: RouteRequest, queue: str | None) -> None:
    if queue is not None and queue not in await _queues(req):
        raise invalid({"queue": "is not one of your queues"})


async def _created(req: RouteRequest, draft: TicketDraft) -> web.StreamResponse:
    await _check_queue(req, draft.queue)
    now = req.site.now()
    try:
        ticket = await tickets_of(req).create(req.who.tenant_id, draft, req.who.user_id, now)
    except TicketRefused as exc:
        raise _refused(exc) from None
    return reply({"ticket": ticket_json(ticket, now)}, status=201)


NEW = ModelBody(NewTicket, defaults=True)


async def create_ticket(req: RouteRequest) -> web.StreamResponse:
    body = req.body
    if body["call_id"] is not None:
        await own_call(req, body["call_id"], "call_id")
    return await _created(req, TicketDraft(
        subject=body["subject"], description=body["description"],
        priority=Priority(body["priority"]), queue=body["queue"],
        assignee_user_id=body["assignee_user_id"], contact_id=body["contact_id"],
        call_id=body["call_id"],
    ))


FROM_CALL = ModelBody(TicketFromCall, defaults=True)


async def ticket_from_call(req: RouteRequest) -> web.StreamResponse:
    """A ticket opened from a call: the caller's contact, the call linked, the agent's notes
    (the call's saved ones unless the body brings newer), the call's queue, the agent."""
    call = await own_call(req, req.param("call_id"))
    body = req.body
    number = call.from_number if call.direction is Direction.INBOUND else call.to_number
    contacts = await crm_of(req).contacts.by_phone(req.who.tenant_id, number)
    contact = contacts[0] if contacts else None
    subject = body["subject"] or f"Call from {contact.name if contact else number}"
    description = body["description"] if body["description"] is not None else call.notes or ""
    return await _created(req, TicketDraft(
        subject=subject[:200], description=description, priority=Priority(body["priority"]),
        queue=body["queue"] or (call.queue if call.queue in await _queues(req) else None),
        contact_id=contact.id if contact else None,
        assignee_user_id=body["assignee_user_id"] or req.who.user_id, call_id=call.id,
    ))


async def get_ticket(req: RouteRequest) -> web.StreamResponse:
    ticket = await _ticket(req, await viewer_of(req))
    comments, history, calls = await tickets_of(req).detail(req.who.tenant_id, ticket.id)
    return reply({
        "ticket": ticket_json(ticket, req.site.now()),
        "comments": [asdict(item) for item in comments],
        "history": [asdict(item) for item in history],
        "calls": [asdict(item) for item in calls],
        # The statuses it may move to (tickets.core.MOVES): the page offers only these.
        "moves": [status.value for status in Status if status in MOVES[ticket.status]],
    })


CHANGE = ModelBody(TicketChange, defaults=True)


async def update_ticket(req: RouteRequest) -> web.StreamResponse:
    viewer = await viewer_of(req)
    ticket = await _ticket(req, viewer)
    if "queue" in req.body:
        await _check_queue(req, req.body["queue"])
    now = req.site.now()
    try:
        changed = await tickets_of(req).update(
            req.who.tenant_id, ticket.id, req.body, req.who.user_id, now, viewer)
    except (TicketRefused, MoveRefused) as exc:
        raise _refused(exc) from None
    if changed is None:
        raise not_found("ticket")
    return reply({"ticket": ticket_json(changed, now)})


COMMENT = ModelBody(NewComment)


async def add_comment(req: RouteRequest) -> web.StreamResponse:
    ticket = await _ticket(req, await viewer_of(req))
    comment = await tickets_of(req).comment(
        req.who.tenant_id, ticket, req.who.user_id, req.body["body"], req.site.now())
    return reply({"comment": asdict(comment)}, status=201)


LINK = ModelBody(LinkedCall)


async def link_call(req: RouteRequest) -> web.StreamResponse:
    ticket = await _ticket(req, await viewer_of(req))
    call = await own_call(req, req.body["call_id"], "call_id")
    try:
        added = await tickets_of(req).link_call(
            req.who.tenant_id, ticket, call.id, req.who.user_id, req.site.now())
    except TicketRefused as exc:
        raise _refused(exc) from None
    return reply({"linked": added}, status=201 if added else 200)


def _targets_json(targets: dict[Priority, int]) -> dict[str, Any]:
    return {"targets": {priority.value: targets[priority] for priority in Priority}}


async def get_targets(req: RouteRequest) -> web.StreamResponse:
    return reply(_targets_json(await tickets_of(req).targets(req.who.tenant_id)))


TARGETS = ModelBody(Targets)


async def set_targets(req: RouteRequest) -> web.StreamResponse:
    targets = await tickets_of(req).set_targets(req.who.tenant_id, req.body, req.site.now())
    return reply(_targets_json(targets))


ROUTES = [
    Route("GET", "/api/tickets", list_tickets, ANYONE,
          "Tickets by status, priority, assignee, queue, contact or overdue (agents: their own "
          "and their queues')", query=LIST, tag="tickets"),
    Route("POST", "/api/tickets", create_ticket, ANYONE,
          "Open a ticket by hand (a contact and a call may be named)", body=NEW, tag="tickets"),
    Route("POST", "/api/calls/{call_id}/ticket", ticket_from_call, ANYONE,
          "Open a ticket from a call: the caller's contact, the call, the agent's notes",
          body=FROM_CALL, tag="tickets"),
    Route("GET", "/api/tickets/targets", get_targets, ANYONE,
          "Minutes from opening to due time, per priority", tag="tickets"),
    Route("PUT", "/api/tickets/targets", set_targets, frozenset({Role.ADMIN}),
          "Set the due-time targets per priority (for tickets opened from now on)",
          body=TARGETS, tag="tickets"),
    Route("GET", "/api/tickets/{ticket_id}", get_ticket, ANYONE,
          "A ticket with its comments, history and linked calls", tag="tickets"),
    Route("PATCH", "/api/tickets/{ticket_id}", update_ticket, ANYONE,
          "Change a ticket's status (allowed moves only), priority, queue, assignee...",
          body=CHANGE, tag="tickets"),
    Route("POST", "/api/tickets/{ticket_id}/comments", add_comment, ANYONE,
          "Comment on a ticket", body=COMMENT, tag="tickets"),
    Route("POST", "/api/tickets/{ticket_id}/calls", link_call, ANYONE,
          "Link a call to a ticket", body=LINK, tag="tickets"),
]
