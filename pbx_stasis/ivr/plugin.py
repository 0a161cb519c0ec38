"""The IVR as the kernel takes it: the flow editor's API, `pbx ivr`, and the ivr:updated topic."""

from __future__ import annotations

from pbx_stasis.ivr import http
from pbx_stasis.ivr.cli import add_ivr_commands
from pbx_stasis.ivr.service import TOPIC
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.feed import Topic

PLUGIN = Plugin(
    "ivr",
    routes=http.ROUTES,
    topics={TOPIC: Topic(frozenset({Role.ADMIN}))},
    commands=add_ivr_commands,
)
