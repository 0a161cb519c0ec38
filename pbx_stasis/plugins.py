"""The composition root: the one place that names the features. It loads each feature's plugin
(its plugin.py) and hands the kernel their routes, feed topics, commands, setups and watchers.

The kernel (pbx_stasis.web: routing, sessions, CSRF, validation, OpenAPI, the feed; the bus, the
store, config, the ARI client, remote) imports no feature; each feature imports the kernel. The
live services of the Stasis side reach the features' routes through their app keys, filled here
by `web_app` from the plugins' `services` (the ACD, the IVR's flows, supervision, recording
control: the app's own, or proxies generated from their interfaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from pbx_stasis.acd import plugin as acd
from pbx_stasis.analytics import plugin as analytics
from pbx_stasis.bus import EventTopic
from pbx_stasis.callbacks import plugin as callbacks
from pbx_stasis.callscripts import plugin as callscripts
from pbx_stasis.campaigns import plugin as campaigns
from pbx_stasis.crm import plugin as crm
from pbx_stasis.crmlink import plugin as crmlink
from pbx_stasis.dialing import plugin as dialing
from pbx_stasis.evaluations import plugin as evaluations
from pbx_stasis.ivr import plugin as ivr
from pbx_stasis.leads import plugin as leads
from pbx_stasis.masking import plugin as masking
from pbx_stasis.plugin import LiveService, Plugin
from pbx_stasis.quality import plugin as quality
from pbx_stasis.recording import plugin as recording
from pbx_stasis.remote.interfaces import Interface, Offered
from pbx_stasis.reports import plugin as reports
from pbx_stasis.supervision import plugin as supervision
from pbx_stasis.testcall import plugin as testcall
from pbx_stasis.tickets import plugin as tickets
from pbx_stasis.users import plugin as users
from pbx_stasis.virtualnumbers import plugin as virtualnumbers
from pbx_stasis.voicemail import plugin as voicemail
from pbx_stasis.web import fanout, feed, openapi, pages, tokens
from pbx_stasis.web.app import WebContext, create_web_app
from pbx_stasis.web.routing import Route
from pbx_stasis.webhooks import plugin as webhooks

# The features whose routes need no live app (only the contact center's interface)...
WEB_PLUGINS: tuple[Plugin, ...] = (
    acd.PLUGIN,
    reports.PLUGIN,
    crm.PLUGIN,
    ivr.PLUGIN,
    users.PLUGIN,
    dialing.PLUGIN,
    testcall.PLUGIN,
    callbacks.PLUGIN,
    tickets.PLUGIN,
    callscripts.PLUGIN,
    leads.PLUGIN,
    voicemail.PLUGIN,  # after leads: it adds its source to My work
    campaigns.PLUGIN,
    analytics.PLUGIN,
    quality.PLUGIN,
    evaluations.PLUGIN,
    webhooks.PLUGIN,
    crmlink.PLUGIN,
    masking.PLUGIN,
    virtualnumbers.PLUGIN,
)
# ... and those that control live calls, through the Stasis side's own services.
LIVE_PLUGINS: tuple[Plugin, ...] = (supervision.PLUGIN, recording.PLUGIN)
PLUGINS: tuple[Plugin, ...] = (*WEB_PLUGINS, *LIVE_PLUGINS)

# The Stasis side's services the routes use, and how a web process of its own reaches them.
SERVICES: tuple[LiveService[Any], ...] = tuple(
    service for plugin in PLUGINS for service in plugin.services)
INTERFACES: tuple[Interface[Any], ...] = tuple(service.interface for service in SERVICES)
TOPICS: Mapping[str, EventTopic[Any]] = {
    topic.name: topic for plugin in PLUGINS for topic in plugin.topics
}
# The routes that need no live app; supervision and recording bring theirs (they reach the
# Stasis side's services through app keys) with their pages.
WEB_ROUTES: list[Route] = [
    *pages.ROUTES,
    *openapi.ROUTES,
    *tokens.ROUTES,
    *(route for plugin in WEB_PLUGINS for route in plugin.routes),
    *feed.feed_routes(TOPICS),
]
ROUTE_TABLE: list[Route] = [
    *WEB_ROUTES,
    *(route for plugin in LIVE_PLUGINS for route in plugin.routes),
]


def web_app(ctx: WebContext, offered: Iterable[Offered[Any]]) -> web.Application:
    """The web sidecar with every feature: the route table, the feed's topics, each plugin's
    setup, and the Stasis side's services (the app's own, or proxies to the Stasis process)
    under the features' app keys; a service not offered makes its routes answer 503."""
    app = create_web_app(ctx, ROUTE_TABLE)
    app[feed.TOPICS] = TOPICS
    app[feed.FRAMES] = feed.Frames()
    app[feed.FANOUT] = fanout.Fanout()
    services = {offer.interface.name: offer.implementation for offer in offered}
    for service in SERVICES:
        if service.interface.name in services:
            app[service.key] = services[service.interface.name]
    for plugin in PLUGINS:
        if plugin.setup is not None:
            plugin.setup(app, ctx)
    return app
