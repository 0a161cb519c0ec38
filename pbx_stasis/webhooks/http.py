"""HTTP routes of webhooks (admins): subscriptions, their delivery log, replay, resume."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.store.tables import Role
from pbx_stasis.validation import UNIQUE, Flag, Model, ModelBody, left_out, text
from pbx_stasis.web.app import CONTEXT
from pbx_stasis.web.routing import (
    Route,
    RouteRequest,
    invalid,
    no_content,
    not_found,
    reply,
)
from pbx_stasis.webhooks.core import url_problem
from pbx_stasis.webhooks.events import BY_NAME, WEBHOOK_EVENTS
from pbx_stasis.webhooks.service import DeliveryRecord, SubscriptionRecord, webhooks_of

ADMIN = frozenset({Role.ADMIN})
EventNames = Annotated[
    tuple[Annotated[str, text(max_length=40)], ...], Field(min_length=1, max_length=20), UNIQUE
]
Url = Annotated[str, text(max_length=2000)]


class NewWebhook(Model):
    """POST /api/webhooks: where to send which events."""

    url: Url
    events: EventNames


class WebhookChange(Model):
    """PATCH /api/webhooks/{id}: a new url or events; `active` false pauses, true resumes."""

    url: Url = left_out()
    events: EventNames = left_out()
    active: Flag = left_out()


def subscription_json(record: SubscriptionRecord, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id, "url": record.url, "events": list(record.events),
        "state": record.state, "created_at": record.created_at, "created_by": record.created_by,
        "paused_at": record.paused_at, "paused_reason": record.paused_reason,
        "failing_since": record.failing_since, "last_success_at": record.last_success_at,
    }
    if secret is not None:
        data["secret"] = secret
    return data


def delivery_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": record.id, "event": record.event, "created_at": record.created_at,
        "status": record.status, "attempts": record.attempts, "next_try_at": record.next_try_at,
        "last_attempt_at": record.last_attempt_at, "response_code": record.response_code,
        "duration_ms": record.duration_ms, "error": record.error,
    }


def _checked(req: RouteRequest) -> dict[str, Any]:
    """The body's url and events, refused by name when the url is not allowed or an event
    unknown."""
    body = req.body
    errors: dict[str, str] = {}
    if "url" in body:
        internal_ok = req.http.app[CONTEXT].settings.webhooks.internal_urls
        problem = url_problem(body["url"], internal_ok=internal_ok)
        if problem is not None:
            errors["url"] = problem
    for index, name in enumerate(body.get("events", ())):
        if name not in BY_NAME:
            errors[f"events.{index}"] = f"is not an event (known: {', '.join(BY_NAME)})"
    if errors:
        raise invalid(errors)
    return body


async def list_webhooks(req: RouteRequest) -> web.StreamResponse:
    hooks = webhooks_of(req.http.app)
    records = await hooks.of_tenant(req.who.tenant_id)
    return reply({
        "webhooks": [subscription_json(record) for record in records],
        "events": [{"name": hook.name, "summary": hook.summary} for hook in WEBHOOK_EVENTS],
        # The dispatcher's queue is shared by every tenant: a count, no tenant's data.
        "dropped_events": hooks.dropped,
    })


async def create_webhook(req: RouteRequest) -> web.StreamResponse:
    body = _checked(req)
    record, secret = await webhooks_of(req.http.app).create(
        req.who.tenant_id, body["url"], body["events"], req.who.username)
    return reply(subscription_json(record, secret), status=201)


async def get_webhook(req: RouteRequest) -> web.StreamResponse:
    found = await webhooks_of(req.http.app).get(
        req.who.tenant_id, req.int_param("webhook_id", "webhook"))
    if found is None:
        raise not_found("webhook")
    return reply(subscription_json(*found))


async def change_webhook(req: RouteRequest) -> web.StreamResponse:
    body = _checked(req)
    record = await webhooks_of(req.http.app).change(
        req.who.tenant_id, req.int_param("webhook_id", "webhook"), url=body.get("url"),
        events=body.get("events"), active=body.get("active"))
    if record is None:
        raise not_found("webhook")
    return reply(subscription_json(record))


async def delete_webhook(req: RouteRequest) -> web.StreamResponse:
    if not await webhooks_of(req.http.app).delete(
            req.who.tenant_id, req.int_param("webhook_id", "webhook")):
        raise not_found("webhook")
    return no_content()


async def list_deliveries(req: RouteRequest) -> web.StreamResponse:
    hooks = webhooks_of(req.http.app)
    webhook_id = req.int_param("webhook_id", "webhook")
    if await hooks.get(req.who.tenant_id, webhook_id) is None:
        raise not_found("webhook")
    records = await hooks.deliveries(req.who.tenant_id, webhook_id)
    return reply({"deliveries": [delivery_json(record) for record in records]})


async def replay_delivery(req: RouteRequest) -> web.StreamResponse:
    delivery_id = req.param("delivery_id")
    if len(delivery_id) > 40:
        raise not_found("delivery")
    record = await webhooks_of(req.http.app).replay(
        req.who.tenant_id, req.int_param("webhook_id", "webhook"), delivery_id)
    if record is None:
        raise not_found("delivery")
    return reply({"delivery": delivery_json(record)})


ROUTES = [
    Route("GET", "/api/webhooks", list_webhooks, ADMIN,
          "The tenant's webhook subscriptions, the events they may ask for, events dropped",
          tag="webhooks"),
    Route("POST", "/api/webhooks", create_webhook, ADMIN,
          "Subscribe a url to events; the answer's `secret` signs every delivery "
          "(X-Pbx-Signature)", body=ModelBody(NewWebhook), tag="webhooks"),
    Route("GET", "/api/webhooks/{webhook_id}", get_webhook, ADMIN,
          "A subscription, with its secret", tag="webhooks"),
    Route("PATCH", "/api/webhooks/{webhook_id}", change_webhook, ADMIN,
          "Change a subscription's url or events; pause or resume it (`active`)",
          body=ModelBody(WebhookChange), tag="webhooks"),
    Route("DELETE", "/api/webhooks/{webhook_id}", delete_webhook, ADMIN,
          "Delete a subscription and its delivery log", tag="webhooks"),
    Route("GET", "/api/webhooks/{webhook_id}/deliveries", list_deliveries, ADMIN,
          "A subscription's last 100 deliveries: status, response code, duration, next try",
          tag="webhooks"),
    Route("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
          replay_delivery, ADMIN,
          "Send a delivery again now (same id and body, signed anew)", tag="webhooks"),
]
