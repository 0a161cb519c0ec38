"""Outbound work as the kernel takes it: its routes, `pbx leads|tasks|dnc`, its stores put in
the web app (app key LEADS), and its hook on the CRM's outcomes (a follow-up becomes a task, a
do-not-call disposition puts the number on the list); My work takes the callbacks' items."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.crm.service import CRM
from pbx_stasis.leads import http
from pbx_stasis.leads.callback_items import callback_work
from pbx_stasis.leads.service import LEADS, Leads
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route, at_least


def _setup(app: web.Application, ctx: WebContext) -> None:
    leads = Leads.over(ctx.db, ctx.settings.crm.region)
    app[LEADS] = leads
    leads.work_sources.append(callback_work(ctx.db))  # callbacks show in My work too
    if CRM in app:  # the crm plugin's setup runs first (plugins.py's order)
        app[CRM].outcomes.hooks.append(leads.on_outcome)


PAGE = Route("GET", "/outbound", template_page("outbound_page", "outbound.html", "Outbound"),
             at_least(Role.SUPERVISOR), "Outbound work: lead lists, do-not-call, refused dials",
             kind=Kind.PAGE, tag="pages")
COMPLIANCE_PAGE = Route(
    "GET", "/admin/compliance",
    template_page("compliance_page", "admin_compliance.html", "Compliance"),
    frozenset({Role.ADMIN}), "Compliance settings: calling hours, attempts, retry delays, "
    "do-not-call dispositions, the callback cap; a number's check", kind=Kind.PAGE, tag="pages")
PLUGIN = Plugin("leads", routes=(*http.ROUTES, PAGE, COMPLIANCE_PAGE), setup=_setup)
