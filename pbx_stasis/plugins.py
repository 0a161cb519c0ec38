"""The composition root: the one place that names the features. It loads each feature's plugin
(its plugin.py) and hands the kernel their routes, feed topics, commands, setups and watchers.

The kernel (pbx_stasis.web: routing, sessions, CSRF, validation, OpenAPI, the feed; the bus, the
store, config, the ARI client) imports no feature; each feature imports the kernel. The live
services of the Stasis side reach the features' routes through their app keys, filled here by
`web_app` (the contact center as the ACD and the IVR, supervision, recording control).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from pbx_stasis.acd import plugin as acd
from pbx_stasis.acd.http.control import ACD
from pbx_stasis.center.service import ContactCenter
from pbx_stasis.crm import plugin as crm
from pbx_stasis.dialing import plugin as dialing
from pbx_stasis.ivr import plugin as ivr
from pbx_stasis.ivr.http import FLOWS
from pbx_stasis.plugin import Plugin
from pbx_stasis.recording import plugin as recording
from pbx_stasis.recording.http import RECORDER
from pbx_stasis.recording.service import RecordingControl
from pbx_stasis.reports import plugin as reports
from pbx_stasis.supervision import plugin as supervision
from pbx_stasis.supervision.http import SUPERVISION
from pbx_stasis.supervision.service import SupervisionControl
from pbx_stasis.users import plugin as users
from pbx_stasis.web import feed, openapi, pages
from pbx_stasis.web.app import WebContext, create_web_app
from pbx_stasis.web.feed import Topic
from pbx_stasis.web.routing import Route

# The features whose routes need no live app (only the contact center's interface)...
WEB_PLUGINS: tuple[Plugin, ...] = (
    acd.PLUGIN,
    reports.PLUGIN,
    crm.PLUGIN,
    ivr.PLUGIN,
    users.PLUGIN,
    dialing.PLUGIN,
)
# ... and those that control live calls, through the Stasis side's own services.
LIVE_PLUGINS: tuple[Plugin, ...] = (supervision.PLUGIN, recording.PLUGIN)
PLUGINS: tuple[Plugin, ...] = (*WEB_PLUGINS, *LIVE_PLUGINS)

TOPICS: Mapping[str, Topic] = {
    name: topic for plugin in PLUGINS for name, topic in plugin.topics.items()
}
# The routes that need no live app; supervision and recording bring theirs (they reach the
# Stasis side's services through app keys) with their pages.
WEB_ROUTES: list[Route] = [
    *pages.ROUTES,
    *openapi.ROUTES,
    *(route for plugin in WEB_PLUGINS for route in plugin.routes),
    *feed.feed_routes(TOPICS),
]
ROUTE_TABLE: list[Route] = [
    *WEB_ROUTES,
    *(route for plugin in LIVE_PLUGINS for route in plugin.routes),
]


def web_app(
    ctx: WebContext,
    center: ContactCenter,
    *,
    supervision: SupervisionControl | None = None,
    recorder: RecordingControl | None = None,
) -> web.Application:
    """The web sidecar with every feature: the route table, the feed's topics, each plugin's
    setup, and the live services (the Stasis app's own, or proxies to the Stasis process) under
    the features' app keys; without supervision or recording control those routes answer 503."""
    app = create_web_app(ctx, ROUTE_TABLE)
    app[feed.TOPICS] = TOPICS
    app[ACD] = center
    app[FLOWS] = center
    if supervision is not None:
        app[SUPERVISION] = supervision
    if recorder is not None:
        app[RECORDER] = recorder
    for plugin in PLUGINS:
        if plugin.setup is not None:
            plugin.setup(app, ctx)
    return app
