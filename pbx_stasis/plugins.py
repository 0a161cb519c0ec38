"""The composition root: every feature's routes, assembled into the web sidecar's route table.

The web kernel (pbx_stasis.web: routing, sessions, CSRF, validation, OpenAPI, the feed) imports
no feature; each feature imports the kernel and hands it its `ROUTES`, collected here and given
to `web.app.create_web_app`. (Each feature is to get a plugin.py handing over its routes,
topics and commands; this module is where they are loaded.)
"""

from __future__ import annotations

from pbx_stasis.acd.http import calls, me, queues, wallboard
from pbx_stasis.crm import http as crm
from pbx_stasis.dialing import http as dialing
from pbx_stasis.ivr import http as flows
from pbx_stasis.recording import http as recording_http
from pbx_stasis.reports import http as reports
from pbx_stasis.supervision import http as supervision_http
from pbx_stasis.users import http as users
from pbx_stasis.web import feed, openapi, pages
from pbx_stasis.web.routing import Route

# The routes that need no live app; supervision and recording bring theirs (they reach the
# Stasis side's services through app keys).
WEB_ROUTES: list[Route] = [
    *pages.ROUTES,
    *openapi.ROUTES,
    *me.ROUTES,
    *wallboard.ROUTES,
    *reports.ROUTES,
    *queues.ROUTES,
    *calls.ROUTES,
    *crm.ROUTES,
    *flows.ROUTES,
    *users.ROUTES,
    *dialing.ROUTES,
    *feed.ROUTES,
]
ROUTE_TABLE: list[Route] = [
    *WEB_ROUTES,
    *pages.REVIEW_PAGES,
    *supervision_http.ROUTES,
    *recording_http.ROUTES,
]
