"""The route table: every page, API route and the WebSocket, with the roles that may use each."""

from __future__ import annotations

from pbx_stasis.crm import http as crm
from pbx_stasis.dialing import http as dialing
from pbx_stasis.recording import http as recording_http
from pbx_stasis.supervision import http as supervision_http
from pbx_stasis.web import (
    calls,
    feed,
    flows,
    me,
    openapi,
    pages,
    queues,
    reports,
    users,
    wallboard,
)
from pbx_stasis.web.routing import Route

# The web's own routes; supervision and recording bring theirs (they need the live app).
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
