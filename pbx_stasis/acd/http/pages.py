"""The ACD's pages: the agent's softphone, the wallboard, and the queues' admin page with the
defaults a new queue starts from."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.http.queues import queue_defaults
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import page, template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route, RouteRequest, at_least


async def queues_page(req: RouteRequest) -> web.StreamResponse:
    return page(req, "admin_queues.html", "Queues", defaults=queue_defaults())


ROUTES = [
    Route(
        "GET",
        "/agent",
        template_page("agent_page", "agent.html", "Agent"),
        ANYONE,
        "Agent softphone",
        kind=Kind.PAGE,
        tag="pages",
    ),
    Route(
        "GET",
        "/wallboard",
        template_page("wallboard_page", "wallboard.html", "Wallboard"),
        at_least(Role.SUPERVISOR),
        "Live wallboard",
        kind=Kind.PAGE,
        tag="pages",
    ),
    Route("GET", "/admin/queues", queues_page, frozenset({Role.ADMIN}), "Queues",
          kind=Kind.PAGE, tag="pages"),
]
