"""The Stasis process's side of a split deployment: ContactCenter over loopback HTTP, and the
bus as a WebSocket stream. Guarded by a shared secret (PBX_RPC_SECRET)."""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from aiohttp import web

from pbx_stasis.bus import Bus
from pbx_stasis.ivr.errors import FlowSetInvalid
from pbx_stasis.remote.codec import decode, encode, signature
from pbx_stasis.web.services import ContactCenter, ServiceError

SECRET_HEADER = "X-PBX-Secret"
# Every topic the web feed forwards (see web/services.py "Bus payloads").
TOPICS = ("call:*", "agent:*", "queue:*", "ivr:*")


def rpc_app(center: ContactCenter, bus: Bus, secret: str) -> web.Application:
    def allowed(request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())

    async def call(request: web.Request) -> web.Response:
        if not allowed(request):
            raise web.HTTPForbidden(text="wrong or missing secret")
        method = request.match_info["method"]
        try:
            params, _ = signature(method)
        except KeyError:
            raise web.HTTPNotFound(text=f"no method {method}") from None
        body: dict[str, Any] = await request.json()
        args = [decode(kind, body.get(name)) for name, kind in params]
        try:
            result = await getattr(center, method)(*args)
        except ServiceError as exc:
            return web.json_response({"error": {"code": exc.code.value, "message": exc.message,
                                                "field": exc.field}})
        except FlowSetInvalid as exc:
            return web.json_response({"invalid": [encode(p) for p in exc.problems]})
        return web.json_response({"result": encode(result)})

    sockets: set[web.WebSocketResponse] = set()

    async def events(request: web.Request) -> web.WebSocketResponse:
        if not allowed(request):
            raise web.HTTPForbidden(text="wrong or missing secret")
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        subscription = bus.subscribe(TOPICS)

        async def pump() -> None:
            while True:
                event = await subscription.get()
                await ws.send_str(json.dumps({"topic": event.topic, "tenant_id": event.tenant_id,
                                              "payload": event.payload}))

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
    app.router.add_post("/rpc/{method}", call)
    app.router.add_get("/events", events)
    return app
