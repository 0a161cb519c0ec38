"""Supervision as the kernel takes it: listen, whisper and barge (its page and routes; the live
control is the Stasis side's, under the app key SUPERVISION, see http.py)."""

from __future__ import annotations

from pbx_stasis.plugin import LiveService, Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.supervision import http
from pbx_stasis.supervision.service import SUPERVISION_SERVICE
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route, at_least

PAGE = Route(
    "GET",
    "/supervise",
    template_page("supervise_page", "supervise.html", "Live calls"),
    at_least(Role.SUPERVISOR),
    "Live calls to listen to, whisper in or barge into",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin("supervision", routes=(PAGE, *http.ROUTES),
                services=(LiveService(SUPERVISION_SERVICE, http.SUPERVISION),))
