"""How the ACD's routes (and other features' routes that need an agent or a queue) reach the ACD:
aiohttp app keys the composition root (pbx_stasis.plugins) fills with the running contact center
or the proxy to it, and with the CRM's outcomes for the wrap-up check."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.service import AcdControl, DispositionCheck
from pbx_stasis.web.routing import RouteRequest, WebError

ACD: web.AppKey[AcdControl] = web.AppKey("acd")
DISPOSITIONS_SAVED: web.AppKey[DispositionCheck] = web.AppKey("dispositions_saved")


def acd_of(req: RouteRequest) -> AcdControl:
    service = req.http.app.get(ACD)
    if service is None:
        raise WebError(503, "unavailable", "The ACD is not available in this process")
    return service


def dispositions_saved(req: RouteRequest) -> DispositionCheck:
    check = req.http.app.get(DISPOSITIONS_SAVED)
    if check is None:
        raise WebError(503, "unavailable", "Call outcomes are not available in this process")
    return check
