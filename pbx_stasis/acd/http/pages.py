"""The ACD's admin page: queues, with the defaults a new queue starts from."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.http.queues import queue_defaults
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import page
from pbx_stasis.web.routing import Kind, Route, RouteRequest


async def queues_page(req: RouteRequest) -> web.StreamResponse:
    return page(req, "admin_queues.html", "Queues", defaults=queue_defaults())


ROUTES = [
    Route("GET", "/admin/queues", queues_page, frozenset({Role.ADMIN}), "Queues",
          kind=Kind.PAGE, tag="pages"),
]
