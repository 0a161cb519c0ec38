"""Number masking as the kernel takes it: its routes, its rules put in the web app, the
viewer's shape the feed applies (VIEWER_SHAPE), and the middleware that masks JSON answers and
CSV files for the roles the tenant masks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from pbx_stasis.masking import http
from pbx_stasis.masking.core import mask_csv
from pbx_stasis.masking.service import MASKING, Masking
from pbx_stasis.plugin import Plugin
from pbx_stasis.web.app import SITE, VIEWER_SHAPE, WebContext
from pbx_stasis.web.routing import dumps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def masked_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A JSON answer or CSV file with its numbers masked, for a viewer the tenant masks."""
    response = await handler(request)
    if (not isinstance(response, web.Response) or not isinstance(response.body, bytes)
            or response.content_type not in ("application/json", "text/csv")):
        return response
    who = await request.app[SITE].principal_of(request)
    if who is None:
        return response
    shape = await request.app[MASKING].shape_for(who)
    if shape is None:
        return response
    text = response.body.decode(response.charset or "utf-8")
    if response.content_type == "text/csv":
        response.text = mask_csv(text, shape)
    else:
        response.text = dumps(shape(json.loads(text)))
    return response


def _setup(app: web.Application, ctx: WebContext) -> None:
    masking = Masking(ctx.db, ctx.settings.trunk.caller_id)
    app[MASKING] = masking
    app[VIEWER_SHAPE] = masking.shape_for
    app.middlewares.append(masked_answers)


PLUGIN = Plugin("masking", routes=http.ROUTES, setup=_setup)
