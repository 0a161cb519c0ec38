"""Campaigns as the kernel takes them: their API, the admin page and `pbx campaign` (the
dialler itself is wired by app.py, beside the ACD whose agents take its calls)."""

from __future__ import annotations

from pbx_stasis.campaigns import http
from pbx_stasis.campaigns.cli import add_campaign_commands
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route, at_least

PAGE = Route("GET", "/campaigns", template_page("campaigns_page", "campaigns.html", "Campaigns"),
             at_least(Role.SUPERVISOR),
             "Campaigns: make, start, pause and stop them; the live dashboard; reports",
             kind=Kind.PAGE, tag="pages")
PLUGIN = Plugin("campaigns", routes=(*http.ROUTES, PAGE), commands=add_campaign_commands)
