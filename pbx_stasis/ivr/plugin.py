"""The IVR as the kernel takes it: the flow editor (page and API), `pbx ivr`, and the ivr:updated
topic."""

from __future__ import annotations

from pbx_stasis.ivr import http
from pbx_stasis.ivr.cli import add_ivr_commands
from pbx_stasis.ivr.service import TOPIC
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.feed import Topic
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route

PAGE = Route(
    "GET",
    "/admin/ivr",
    template_page("ivr_page", "admin_ivr.html", "IVR flows"),
    frozenset({Role.ADMIN}),
    "IVR flow editor",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin(
    "ivr",
    routes=(*http.ROUTES, PAGE),
    topics={TOPIC: Topic(frozenset({Role.ADMIN}))},
    commands=add_ivr_commands,
)
