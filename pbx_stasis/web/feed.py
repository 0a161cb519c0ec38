"""The WebSocket feed /ws: live bus events, per tenant, limited to the topics a role may see.

Protocol (JSON text frames):
- server, on connect: {"type": "hello", "user_id", "role", "topics": [allowed topics]}
- client: {"subscribe": ["call:*", "queue:stats"]}, replacing the previous subscription
- server: {"type": "subscribed", "topics": [...], "refused": {"ivr:updated": "forbidden"}}
- server: {"type": "event", "topic", "seq", "at", "payload"} for each event
- server: {"type": "lagged", "dropped": n} when this client fell behind: resync from the API
Agents get only their own `agent:state` and `call:*` events. The session is checked again every
minute; logout, "logout everywhere" and role changes close the socket (code 4001).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from pbx_stasis.bus import BusEvent, EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import VIEWER_SHAPE
from pbx_stasis.web.fanout import Fanout, Outlet, text_frame
from pbx_stasis.web.routing import (
    ANYONE,
    Kind,
    Route,
    RouteRequest,
    WebError,
    dumps,
)
from pbx_stasis.web.sessions import Principal

# The topics of the features (their plugins hand them over; pbx_stasis.plugins merges them).
TOPICS: web.AppKey[Mapping[str, EventTopic[Any]]] = web.AppKey("feed_topics")
SESSION_RECHECK = 60.0
MAX_TOPICS = 20


class Frames:
    """Each event's WebSocket frame, encoded once for every socket that sends it: a wallboard on
    500 screens encodes an event once, not 500 times (scripts/bench-feed). Keeps the last `size`
    events' frames (with the events, so an id is never reused while cached)."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._frames: OrderedDict[int, tuple[BusEvent[Any], bytes]] = OrderedDict()

    def of(self, event: BusEvent[Any]) -> bytes:
        cached = self._frames.get(id(event))
        if cached is not None and cached[0] is event:
            return cached[1]
        data = wire(frame(event, event.json()))
        self._frames[id(event)] = (event, data)
        if len(self._frames) > self._size:
            self._frames.popitem(last=False)
        return data


def frame(event: BusEvent[Any], payload: Any) -> str:
    return dumps({"type": "event", "topic": event.topic, "seq": event.seq, "at": event.at,
                  "payload": payload})


def wire(text: str) -> bytes:
    return text_frame(text.encode())


# One per web app (pbx_stasis.plugins sets them): the sockets of the app share them.
FRAMES: web.AppKey[Frames] = web.AppKey("feed_frames", Frames)
FANOUT: web.AppKey[Fanout] = web.AppKey("feed_fanout", Fanout)


def allowed_topics(topics: Mapping[str, EventTopic[Any]], role: Role) -> list[str]:
    return [name for name, topic in topics.items() if role in topic.readers]


def resolve_topics(
    topics: Mapping[str, EventTopic[Any]], role: Role, asked: list[Any]
) -> tuple[list[str], dict[str, str]]:
    """The topics granted and the ones refused (topic -> "forbidden" / "unknown"); "call:*"
    stands for every topic of the family "call"."""
    granted: list[str] = []
    refused: dict[str, str] = {}
    for item in asked[:MAX_TOPICS]:
        topic = str(item)
        family = topic.removesuffix("*") if topic.endswith(":*") else None
        expanded = [name for name in topics if family and name.startswith(family)] or [topic]
        for name in expanded:
            if name not in topics:
                refused[topic] = "unknown"
            elif role not in topics[name].readers:
                refused[name] = "forbidden"
            elif name not in granted:
                granted.append(name)
    return granted, refused


def visible(
    topics: Mapping[str, EventTopic[Any]], principal: Principal, event: BusEvent[Any]
) -> bool:
    """Whether this user may see this event (the bus already filtered the tenant)."""
    if event.tenant_id != principal.tenant_id:
        return False
    own_key = topics[event.topic].own_key if event.topic in topics else None
    if principal.role is Role.AGENT and own_key is not None:
        owner = getattr(event.payload, own_key, None)
        if isinstance(owner, tuple | frozenset):  # the users an event is for (a ticket's)
            return principal.user_id in owner
        return bool(owner == principal.user_id)
    return True


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: the session cookie is the whole check
    return urlsplit(origin).netloc == request.host


async def open_feed(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    if not _same_origin(req.http):
        # Cross-site WebSocket hijacking: a page elsewhere riding on this user's cookie.
        raise WebError(403, "forbidden", "WebSocket from another origin")
    # No permessage-deflate (browsers ask for it): compressing a ~1 kB frame once per socket
    # would cost more than the bytes it saves on a LAN, and a frame is sent to many sockets.
    socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024, compress=False)
    writer = await socket.prepare(req.http)
    transport = req.http.transport
    if transport is None:  # gone already
        return socket
    site = req.site
    topics = req.http.app[TOPICS]
    frames = req.http.app.get(FRAMES) or Frames()
    # Events are written straight to the transport by the app's fan-out (web/fanout.py), one
    # frame for every socket: no task per socket, no aiohttp send per event.
    outlet = Outlet(req.http.app.get(FANOUT) or Fanout(), transport, writer,
                    lagged=lambda n: wire(dumps({"type": "lagged", "dropped": n})),
                    closed=lambda: socket.closed)
    site.sockets.add(who, socket)

    shape_of = req.http.app.get(VIEWER_SHAPE)
    # Read when the page subscribes: a change of the tenant's masking applies at its next one.
    shape = None

    def render(event: BusEvent[Any]) -> bytes | None:
        if not visible(topics, who, event):
            return None
        # A masked viewer's frame is their own; the others share the event's.
        return wire(frame(event, shape(event.json()))) if shape else frames.of(event)

    async def recheck() -> None:
        while True:
            await asyncio.sleep(SESSION_RECHECK)
            if await site.still_valid(req.http) is None:
                outlet.stop()
                await socket.close(code=4001, message=b"session ended")
                return

    checker = asyncio.create_task(recheck())
    try:
        await socket.send_str(
            dumps(
                {
                    "type": "hello",
                    "user_id": who.user_id,
                    "role": who.role,
                    "topics": allowed_topics(topics, who.role),
                }
            )
        )
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except (json.JSONDecodeError, RecursionError):
                data = None
            asked = data.get("subscribe") if isinstance(data, dict) else None
            if not isinstance(asked, list):
                await socket.send_str(
                    dumps({"type": "error", "message": 'send {"subscribe": [topics]}'})
                )
                continue
            granted, refused = resolve_topics(topics, who.role, asked)
            outlet.stop()  # the previous topics' events, sent or not, are done with
            shape = await shape_of(who) if shape_of is not None else None
            outlet.follow(site.ctx.bus.subscribe(granted, tenant_id=who.tenant_id,
                                                 notify=outlet.wake), render)
            await socket.send_str(
                dumps({"type": "subscribed", "topics": granted, "refused": refused})
            )
    finally:
        outlet.stop()
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await checker
        site.sockets.discard(who, socket)
    return socket


def feed_routes(topics: Mapping[str, EventTopic[Any]]) -> list[Route]:
    """The feed's route, its summary listing the topics by role (the OpenAPI document shows it)."""
    return [
        Route(
            "GET",
            "/ws",
            open_feed,
            ANYONE,
            "WebSocket feed of live events; topics by role: "
            + "; ".join(
                f"{name}: {', '.join(sorted(r.value for r in topic.readers))}"
                for name, topic in topics.items()
            ),
            kind=Kind.SOCKET,
            tag="feed",
        ),
    ]
