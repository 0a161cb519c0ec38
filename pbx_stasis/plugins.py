"""The composition root: it loads the plugin (plugin.py) of each feature pbx_stasis.features
names and hands the kernel their routes, feed topics, services, setups and watchers.

The kernel (pbx_stasis.web: routing, sessions, CSRF, validation, OpenAPI, the feed; the bus, the
store, config, the ARI client, remote) imports no feature; each feature imports the kernel. The
live services of the Stasis side reach the features' routes through their app keys, filled here
by `web_app` from the plugins' `services` (the ACD, the IVR's flows, supervision, recording
control: the app's own, or proxies generated from their interfaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import Any

from aiohttp import web

from pbx_stasis.bus import EventTopic
from pbx_stasis.features import LIVE_FEATURES, WEB_FEATURES
from pbx_stasis.plugin import LiveService, Plugin
from pbx_stasis.remote.interfaces import Interface, Offered
from pbx_stasis.web import fanout, feed, openapi, pages, tokens
from pbx_stasis.web.app import WebContext, create_web_app
from pbx_stasis.web.routing import Route


def _plugin(feature: str) -> Plugin:
    """The PLUGIN of the feature's plugin.py (named after its folder)."""
    plugin = import_module(f"pbx_stasis.{feature}.plugin").PLUGIN
    if not isinstance(plugin, Plugin) or plugin.name != feature:
        raise TypeError(f"pbx_stasis.{feature}.plugin.PLUGIN is not the {feature!r} Plugin")
    return plugin


# The features whose routes need no live app, and those that control live calls (features.py).
WEB_PLUGINS: tuple[Plugin, ...] = tuple(_plugin(feature) for feature in WEB_FEATURES)
LIVE_PLUGINS: tuple[Plugin, ...] = tuple(_plugin(feature) for feature in LIVE_FEATURES)
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
