"""API of queues: the list (for transfers), live figures, and the admin's queue configuration."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from aiohttp import web

from pbx_stasis.acd import settings
from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import ModelBody
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, at_least, invalid, reply

# The queue's one schema (acd/settings.py), which `pbx queue set` and the database rows go
# through too.
NEW_QUEUE = ModelBody(settings.NewQueue)
QUEUE_UPDATE = ModelBody(settings.QueueSettings)


def queue_config(name: str, body: dict[str, Any]) -> QueueConfig:
    """A QueueConfig from a checked body; fields left out take the ACD's defaults."""
    try:
        return settings.queue_config(name, {k: v for k, v in body.items() if k != "name"})
    except settings.SettingsInvalid as exc:
        raise invalid(exc.problems) from None


def queue_defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for item in fields(QueueConfig):
        if item.default is not MISSING:
            defaults[item.name] = item.default
    return defaults


async def list_queues(req: RouteRequest) -> web.StreamResponse:
    queues = await acd_of(req).queues(req.who.tenant_id)
    return reply({"queues": [to_json(queue) for queue in queues]})


async def create_queue(req: RouteRequest) -> web.StreamResponse:
    config = queue_config(req.body["name"], req.body)
    created = await acd_of(req).create_queue(req.who.tenant_id, config)
    return reply({"queue": to_json(created)}, status=201)


async def update_queue(req: RouteRequest) -> web.StreamResponse:
    name = req.param("name")
    config = queue_config(name, req.body)
    updated = await acd_of(req).update_queue(req.who.tenant_id, config)
    return reply({"queue": to_json(updated)})


async def queue_stats(req: RouteRequest) -> web.StreamResponse:
    stats = await acd_of(req).queue_stats(req.who.tenant_id)
    return reply({"queues": [to_json(item) for item in stats]})


ROUTES = [
    Route("GET", "/api/queues", list_queues, ANYONE, "Queues and their settings", tag="queues"),
    Route(
        "POST",
        "/api/queues",
        create_queue,
        frozenset({Role.ADMIN}),
        "Create a queue",
        body=NEW_QUEUE,
        tag="queues",
    ),
    Route(
        "GET",
        "/api/queues/stats",
        queue_stats,
        at_least(Role.SUPERVISOR),
        "Live figures of every queue",
        tag="queues",
    ),
    Route(
        "PUT",
        "/api/queues/{name}",
        update_queue,
        frozenset({Role.ADMIN}),
        "Replace a queue's settings (fields left out take their defaults)",
        body=QUEUE_UPDATE,
        tag="queues",
    ),
]
