"""API of queues: the list (for transfers), live figures, and the admin's queue configuration."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from aiohttp import web

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.model import (
    EmptyPolicy,
    EscalationStep,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    ServiceLevelMode,
    Strategy,
)
from pbx_stasis.store.tables import Role
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, at_least, invalid, reply
from pbx_stasis.web.shapes import (
    Choice,
    Fields,
    Flag,
    Integer,
    Items,
    Number,
    Shape,
    Text,
    optional,
)

# Not "stats": /api/queues/stats is the live figures' path, so PUT /api/queues/stats could
# never reach a queue of that name (routing.router_path).
NAME = r"(?!stats$)[a-z0-9][a-z0-9_\-]{0,63}"
NAME_HINT = ("must be 1-64 lowercase letters, digits, - or _, starting with a letter or digit "
             "(not stats)")

_QUEUE_FIELDS: dict[str, Shape] = {
    "strategy": Choice([s.value for s in Strategy]),
    "ring_timeout": Number(minimum=1, maximum=600, description="seconds an offer rings"),
    "retry_delay": Number(minimum=0, maximum=600),
    "max_wait": Number(minimum=1, maximum=86400, nullable=True, description="null: no limit"),
    "overflow": Fields(
        {"kind": Choice([k.value for k in OverflowKind]), "target": Text(min_length=1)},
        nullable=True,
    ),
    "max_callers": Integer(minimum=1, maximum=100_000, nullable=True),
    "join_empty": Choice([p.value for p in EmptyPolicy]),
    "leave_empty": Choice([p.value for p in EmptyPolicy]),
    "wrapup": Number(minimum=0, maximum=3600, description="seconds of wrap-up after a call"),
    "autopause_after": Integer(minimum=1, maximum=100, nullable=True),
    "ring_in_use": Flag(),
    "moh_class": Text(min_length=1, max_length=64, pattern=r"[A-Za-z0-9_\-]+"),
    "announce_every": Number(minimum=10, maximum=3600, nullable=True),
    "max_penalty": Integer(minimum=0, maximum=1000, nullable=True),
    "escalation": Items(
        Fields(
            {
                "after": Number(minimum=0, maximum=86400),
                "relax": optional(Integer(minimum=0, maximum=100), 0),
                "max_penalty": optional(Integer(minimum=0, maximum=1000, nullable=True), None),
            }
        ),
        max_items=20,
    ),
    "agent_order": Items(Text(min_length=1, max_length=64), max_items=1000, unique=True),
    "weight": Integer(minimum=-1000, maximum=1000),
    "service_level": Number(minimum=1, maximum=3600),
    "service_level_mode": Choice([m.value for m in ServiceLevelMode]),
    "short_abandon": Number(minimum=0, maximum=3600, nullable=True,
                            description="seconds; null: the service level's"),
}

NEW_QUEUE = Fields(
    {
        "name": Text(min_length=1, max_length=64, pattern=NAME, hint=NAME_HINT),
        **{key: optional(shape) for key, shape in _QUEUE_FIELDS.items()},
    }
)
QUEUE_UPDATE = Fields({key: optional(shape) for key, shape in _QUEUE_FIELDS.items()})


def queue_config(name: str, body: dict[str, Any]) -> QueueConfig:
    """A QueueConfig from a checked body; fields left out take the ACD's defaults."""
    values: dict[str, Any] = {"name": name}
    for key, value in body.items():
        if key == "name":
            continue
        if key == "strategy":
            value = Strategy(value)
        elif key in ("join_empty", "leave_empty"):
            value = EmptyPolicy(value)
        elif key == "service_level_mode":
            value = ServiceLevelMode(value)
        elif key == "overflow" and value is not None:
            value = OverflowTarget(OverflowKind(value["kind"]), value["target"])
        elif key == "escalation":
            value = tuple(EscalationStep(**step) for step in value)
        elif key == "agent_order":
            value = tuple(value)
        values[key] = value
    try:
        return QueueConfig(**values)
    except ValueError as exc:
        # The ACD's own consistency checks ("escalation steps must be in increasing after").
        message = str(exc).removeprefix(f"queue {name}: ")
        field = next((f.name for f in fields(QueueConfig) if message.startswith(f.name)), "body")
        raise invalid({field: message}) from None


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
