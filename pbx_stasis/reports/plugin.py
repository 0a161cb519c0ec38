"""Reports as the kernel takes them: the period's figures and their CSV files, and their page;
`pbx reports`, and the watcher that rolls the journal into quarter hours as it grows."""

from __future__ import annotations

from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.plugin import Plugin
from pbx_stasis.reports import http
from pbx_stasis.reports.rollup_store import keep_rolled
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route, at_least

PAGE = Route(
    "GET",
    "/reports",
    template_page("reports_page", "reports.html", "Reports"),
    at_least(Role.SUPERVISOR),
    "Reports: a period's figures per queue, agent and hour",
    kind=Kind.PAGE,
    tag="pages",
)


async def _rollups(db: Database, settings: Settings, bus: Bus) -> None:
    await keep_rolled(db)


PLUGIN = Plugin("reports", routes=(*http.ROUTES, PAGE), watchers=(_rollups,))
