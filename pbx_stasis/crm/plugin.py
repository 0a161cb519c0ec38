"""The CRM as the kernel takes it: contacts, dispositions and call outcomes (routes, and the
dispositions' admin page), its stores put in the web app (app key CRM), and its outcomes lent to
the ACD's wrap-up check."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.http.control import DISPOSITIONS_SAVED
from pbx_stasis.crm import http
from pbx_stasis.crm.events import DISPOSITION_SET
from pbx_stasis.crm.service import CRM, Crm
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route


def _setup(app: web.Application, ctx: WebContext) -> None:
    crm = Crm.over(ctx.db, ctx.settings.crm.region)
    app[CRM] = crm
    app[DISPOSITIONS_SAVED] = crm.outcomes


PAGE = Route(
    "GET",
    "/admin/dispositions",
    template_page("dispositions_page", "admin_dispositions.html", "Dispositions"),
    frozenset({Role.ADMIN}),
    "Dispositions",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin("crm", routes=(*http.ROUTES, PAGE), topics=(DISPOSITION_SET,), setup=_setup)
