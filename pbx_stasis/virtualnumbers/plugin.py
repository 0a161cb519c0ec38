"""Virtual numbers as the kernel takes them: their API, `pbx vnum`, and their store in the web
app (calls to virtual numbers are taken by app.py, beside the trunk line they dial through)."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.plugin import Plugin
from pbx_stasis.virtualnumbers import http
from pbx_stasis.virtualnumbers.service import VIRTUAL_NUMBERS, VirtualNumbers
from pbx_stasis.web.app import WebContext


def _setup(app: web.Application, ctx: WebContext) -> None:
    app[VIRTUAL_NUMBERS] = VirtualNumbers(ctx.db)


PLUGIN = Plugin("virtualnumbers", routes=http.ROUTES, setup=_setup)
