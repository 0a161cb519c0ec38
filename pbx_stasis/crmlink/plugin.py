"""The external CRM link as the kernel takes it: its routes, and its lookups (with the watcher
that starts one for each incoming call) put in the web app."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.crm.phones import numbering
from pbx_stasis.crmlink import http
from pbx_stasis.crmlink.service import EXTERNAL_CRM, ExternalCrm, running
from pbx_stasis.plugin import Plugin
from pbx_stasis.web.app import WebContext


def _setup(app: web.Application, ctx: WebContext) -> None:
    crm = ExternalCrm(ctx.db, numbering(ctx.settings.crm.region),
                      ctx.settings.ivr.internal_lookups)
    app[EXTERNAL_CRM] = crm
    app.cleanup_ctx.append(running(crm, ctx.bus))


PLUGIN = Plugin("crmlink", routes=http.ROUTES, setup=_setup)
