"""Campaigns as the kernel takes them: their API, the admin page and `pbx campaign`, the
dashboards' feed topic (campaign:changed), and their hook on the CRM's outcomes (a call's
disposition goes on its attempt). The dialler itself is wired by app.py, beside the ACD whose
agents take its calls, and told of the agents' outside calls' ends (a preview call's outcome)."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.campaigns import http
from pbx_stasis.campaigns.events import CAMPAIGN_CHANGED
from pbx_stasis.campaigns.service import Campaigns
from pbx_stasis.crm.service import CRM
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route, at_least


def _setup(app: web.Application, ctx: WebContext) -> None:
    if CRM in app:  # the crm plugin's setup runs first (plugins.py's order)
        app[CRM].outcomes.hooks.append(Campaigns(ctx.db, ctx.bus).on_outcome)


PAGE = Route("GET", "/campaigns", template_page("campaigns_page", "campaigns.html", "Campaigns"),
             at_least(Role.SUPERVISOR),
             "Campaigns: make, start, pause and stop them; the live dashboard; reports",
             kind=Kind.PAGE, tag="pages")
PLUGIN = Plugin("campaigns", routes=(*http.ROUTES, PAGE), topics=(CAMPAIGN_CHANGED,),
                setup=_setup)
