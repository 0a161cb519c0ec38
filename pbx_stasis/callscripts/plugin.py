"""Call scripts as the kernel takes them: the editor's routes and page, a call's script, and
`pbx script`."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.callscripts import http
from pbx_stasis.callscripts.service import CALL_SCRIPTS, CallScripts
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route


def _setup(app: web.Application, ctx: WebContext) -> None:
    app[CALL_SCRIPTS] = CallScripts(ctx.db)


PAGE = Route("GET", "/admin/call-scripts",
             template_page("call_scripts_page", "admin_call_scripts.html", "Call scripts"),
             frozenset({Role.ADMIN}), "Call scripts: the editor and versions", kind=Kind.PAGE,
             tag="pages")
PLUGIN = Plugin("callscripts", routes=(*http.ROUTES, PAGE), setup=_setup)
