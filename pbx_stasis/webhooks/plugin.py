"""Webhooks as the kernel takes it: the subscriptions' routes, the integrations page (API
tokens and webhooks), and the dispatcher, which runs with the web app (setup)."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.health import HEALTH
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route
from pbx_stasis.webhooks import http
from pbx_stasis.webhooks.core import Backoff
from pbx_stasis.webhooks.metrics import WebhookCollector
from pbx_stasis.webhooks.service import WEBHOOKS, Webhooks, running


def _setup(app: web.Application, ctx: WebContext) -> None:
    settings = ctx.settings.webhooks
    hooks = Webhooks(ctx.db, Backoff(first=settings.first_retry, retry_for=settings.retry_for))
    app[WEBHOOKS] = hooks
    app[HEALTH].register(WebhookCollector(hooks))  # the web app serves /metrics (web/app.py)
    app.cleanup_ctx.append(running(hooks, ctx.bus, settings))


PAGE = Route(
    "GET",
    "/admin/integrations",
    template_page("integrations_page", "admin_integrations.html", "Integrations"),
    frozenset({Role.ADMIN}),
    "Integrations: API tokens and webhooks (delivery log, replay, resume)",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin("webhooks", routes=(*http.ROUTES, PAGE), setup=_setup)
