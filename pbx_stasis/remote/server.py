"""The Stasis process's side of a split deployment: the services it offers (each a feature's
`Interface`, handed over by its plugin: the ACD, the IVR's flows, supervision, live recording
control) over loopback HTTP (`POST /rpc/<interface>/<method>`, one JSON object of arguments in,
`{"result"}`, `{"error"}` or `{"carried"}` out; one dispatch for every method of every
interface), and the bus's feed topics as a WebSocket stream. Guarded by a shared secret
(PBX_RPC_SECRET)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from pbx_stasis.bus import Bus
from pbx_stasis.bus import encode as encode_event
from pbx_stasis.remote.codec import encode, signature
from pbx_stasis.remote.interfaces import UNAVAILABLE, Interface, Offered
from pbx_stasis.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-PBX-Secret"


def error_json(error: Exception) -> dict[str, Any]:
    """An interface's error as the wire carries it (see Interface.rebuild)."""
    return {"error": {"code": str(encode(getattr(error, "code", UNAVAILABLE))),
                      "message": str(getattr(error, "message", error)),
                      "field": getattr(error, "field", None)}}


def rpc_app(bus: Bus, secret: str, interfaces: Iterable[Interface[Any]],
            offered: Iterable[Offered[Any]], topics: Iterable[str]) -> web.Application:
    """Serve each offered implementation (the Stasis process's own services) under its
    interface's name (one of `interfaces` not offered answers unavailable), and the bus events
    of `topics` (the ones the web process's feed forwards)."""
    served: dict[str, object] = {offer.interface.name: offer.implementation for offer in offered}
    known = {interface.name: interface for interface in interfaces}
    known |= {offer.interface.name: offer.interface for offer in offered}
    streamed = frozenset(topics)

    def allowed(request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())

    async def call(request: web.Request) -> web.Response:
        if not allowed(request):
            raise web.HTTPForbidden(text="wrong or missing secret")
        interface = known.get(request.match_info["interface"])
        name = request.match_info["method"]
        try:
            if interface is None:
                raise KeyError(name)
            method = signature(interface.protocol, name)
        except KeyError:
            raise web.HTTPNotFound(text=f"no method {request.match_info['interface']}.{name}"
                                   ) from None
        implementation = served.get(interface.name)
        if implementation is None:
            return web.json_response(error_json(interface.unavailable(
                f"the telephony process does not offer {interface.name} here")))
        body: dict[str, Any] = await request.json()
        args, kwargs = method.arguments(body)
        try:
            result = await getattr(implementation, name)(*args, **kwargs)
        except interface.error as exc:
            return web.json_response(error_json(exc))
        except StoreUnavailable as exc:  # an outage: the web process answers 503, one line here
            log.warning("%s.%s: %s", interface.name, name, exc)
            return web.json_response(error_json(interface.unavailable(
                "the database cannot be reached; try again in a few seconds")))
        except tuple(carried.error for carried in interface.carried) as exc:
            kind = next(c for c in interface.carried if isinstance(exc, c.error))
            return web.json_response({"carried": {
                "error": kind.error.__name__, "values": encode(getattr(exc, kind.attribute))}})
        return web.json_response({"result": encode(result)})

    sockets: set[web.WebSocketResponse] = set()

    async def events(request: web.Request) -> web.WebSocketResponse:
        if not allowed(request):
            raise web.HTTPForbidden(text="wrong or missing secret")
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        subscription = bus.subscribe(streamed)

        async def pump() -> None:
            while True:
                event = await subscription.get()
                # Every field (the journal-only ones too) and the event's class: the web
                # process rebuilds the very object (EventTopic.decode).
                await ws.send_str(json.dumps({
                    "topic": event.topic, "tenant_id": event.tenant_id,
                    "kind": type(event.payload).__name__,
                    "payload": encode_event(event.payload, everything=True),
                }))

        sending = asyncio.create_task(pump())
        sockets.add(ws)
        try:
            async for _ in ws:  # until the web process goes away (it sends nothing)
                pass
        finally:
            sockets.discard(ws)
            sending.cancel()
            subscription.close()
        return ws

    async def close_sockets(_: web.Application) -> None:
        for ws in list(sockets):
            await ws.close()

    app = web.Application()
    app.on_shutdown.append(close_sockets)
    app.router.add_post("/rpc/{interface}/{method}", call)
    app.router.add_get("/events", events)
    return app
