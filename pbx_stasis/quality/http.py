"""HTTP route of call quality: a call's RTCP figures per leg (supervisors and up, the tenant's
calls only)."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.quality.core import POOR_MES
from pbx_stasis.quality.watcher import call_quality
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import Route, RouteRequest, at_least, not_found, reply


async def get_call_quality(req: RouteRequest) -> web.StreamResponse:
    legs = await call_quality(req.site.ctx.db, req.who.tenant_id, req.param("call_id"))
    if not legs:
        raise not_found("call quality")
    return reply({"quality": {
        "poor_below_mes": POOR_MES,
        "legs": {leg: figures.as_json() for leg, figures in legs.items()},
    }})


ROUTES: list[Route] = [
    Route("GET", "/api/calls/{call_id}/quality", get_call_quality, at_least(Role.SUPERVISOR),
          "A call's audio quality per leg as Asterisk measured it (MES, jitter, loss, RTT)",
          tag="quality"),
]
