"""Tickets as the kernel takes it: routes and pages, the ticket:changed topic, `pbx ticket`, and
its store (app key TICKETS) with its part of the contacts' timeline."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.http.control import ACD
from pbx_stasis.crm.http import viewer_of
from pbx_stasis.crm.timeline import TIMELINE
from pbx_stasis.plugin import Plugin
from pbx_stasis.tickets import http
from pbx_stasis.tickets.events import TICKET_CHANGED
from pbx_stasis.tickets.http import tickets_of
from pbx_stasis.tickets.service import TICKETS, Tickets
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.contract import ServiceError
from pbx_stasis.web.pages import page, template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route, RouteRequest, not_found


def _setup(app: web.Application, ctx: WebContext) -> None:
    async def members(tenant_id: int, queue: str) -> set[int]:
        acd = app.get(ACD)
        if acd is None:
            return set()
        try:
            return {agent.user_id for agent in await acd.agents(tenant_id)
                    if queue in agent.member_of}
        except ServiceError:
            return set()  # the ACD is away: the queue's agents see the change when they reload

    tickets = Tickets(ctx.db, ctx.bus, members)
    app[TICKETS] = tickets
    app[TIMELINE].add(tickets.timeline_source())  # the crm plugin's setup runs first


async def ticket_page(req: RouteRequest) -> web.StreamResponse:
    """A ticket's page (its script loads the ticket); 404 for a ticket out of the user's reach."""
    ticket = await tickets_of(req).get(
        req.who.tenant_id, req.int_param("ticket_id", "ticket"), await viewer_of(req))
    if ticket is None:
        raise not_found("ticket")
    return page(req, "ticket.html", f"#{ticket.id} {ticket.subject}")


PAGES = [
    Route("GET", "/tickets", template_page("tickets_page", "tickets.html", "Tickets"), ANYONE,
          "Tickets: lists with filters", kind=Kind.PAGE, tag="pages"),
    Route("GET", "/tickets/{ticket_id}", ticket_page, ANYONE,
          "A ticket: its fields, comments, history and calls", kind=Kind.PAGE, tag="pages"),
]
PLUGIN = Plugin("tickets", routes=(*http.ROUTES, *PAGES), topics=(TICKET_CHANGED,),
                setup=_setup)
