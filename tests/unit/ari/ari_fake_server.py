"""A small stand-in for Asterisk's ARI HTTP server, on a real socket, for the client's unit tests.

It answers REST calls from a table the test fills, records what it was sent, checks basic
auth like Asterisk (401 + `{"message": ...}`), and serves the events WebSocket, which the
test drives: send events, drop the socket, refuse the handshake. Like Asterisk 22.2+, it also
answers REST requests sent on the events WebSocket (`RESTRequest` -> `RESTResponse`) from the
same table, unless `rest_over_socket` is off (an older Asterisk: such messages go unanswered).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, hdrs, web


@dataclass
class Seen:
    """One REST request as the server received it."""

    method: str
    path: str  # raw (still percent-encoded) path, without the /ari prefix
    query: list[tuple[str, str]]
    body: Any
    via: str = "http"  # or "socket"
    app: str | None = None  # the application of the socket it came on


@dataclass
class Reply:
    status: int = 204
    payload: Any = None
    raw: bytes | None = None
    delay: float = 0.0


@dataclass
class FakeAri:
    user: str = "pbx"
    password: str = "secret"
    replies: dict[tuple[str, str], Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    ws_attempts: list[float] = field(default_factory=list)
    ws_params: list[dict[str, str]] = field(default_factory=list)
    refuse_ws_with: int | None = None
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    connected: asyncio.Queue[web.WebSocketResponse] = field(default_factory=asyncio.Queue)
    greeting: list[dict[str, Any]] = field(default_factory=list)
    rest_over_socket: bool = True
    # Asterisk reads a socket's frames in one thread: a request is served before the next frame
    # (a ping too) is read. Off, each request gets a task of its own (answers out of order).
    serial: bool = False
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ari"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/ari/events", self._events)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def reply(self, method: str, path: str, status: int = 200, payload: Any = None) -> None:
        self.replies[(method, path)] = Reply(status, payload)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            login, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            return False
        return (login, password) == (self.user, self.password)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0].removeprefix("/ari")
        body = await request.json() if request.can_read_body else None
        self.seen.append(Seen(request.method, raw_path, list(request.query.items()), body))
        if not self._authorized(request):
            return web.json_response({"message": "Authentication required"}, status=401)
        reply = await self._reply(request.method, raw_path)
        if reply.raw is not None:
            return web.Response(body=reply.raw, content_type="audio/wav", status=reply.status)
        if reply.payload is None:
            return web.Response(status=reply.status)
        return web.json_response(reply.payload, status=reply.status)

    async def _reply(self, method: str, raw_path: str) -> Reply:
        if (method, raw_path) not in self.replies and raw_path == "/asterisk/ping":
            return Reply(200, {"ping": "pong"})
        reply = self.replies.get((method, raw_path))
        if reply is None:
            return Reply(404, {"message": "Resource not found"})
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return reply

    async def _socket_request(self, ws: web.WebSocketResponse, app: str, text: str) -> None:
        request = json.loads(text)
        path, _, query = request["uri"].partition("?")
        raw_path = "/" + path
        body = request.get("message_body")
        self.seen.append(Seen(request["method"], raw_path, parse_qsl(query),
                              json.loads(body) if body else None, via="socket", app=app))
        reply = await self._reply(request["method"], raw_path)
        answer: dict[str, Any] = {
            "type": "RESTResponse", "transaction_id": request.get("transaction_id"),
            "request_id": request.get("request_id"), "status_code": reply.status,
            "reason_phrase": "OK" if reply.status < 300 else "Error", "uri": path,
        }
        if reply.payload is not None:
            answer["content_type"] = "application/json"
            answer["message_body"] = json.dumps(reply.payload)
        if not ws.closed:
            await ws.send_str(json.dumps(answer))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.ws_attempts.append(asyncio.get_running_loop().time())
        self.ws_params.append(dict(request.query))
        if self.refuse_ws_with is not None:
            return web.json_response({"message": "refused"}, status=self.refuse_ws_with)
        if not self._authorized(request):
            return web.json_response({"message": "Authentication required"}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        for event in self.greeting:
            await ws.send_str(json.dumps(event))
        self.connected.put_nowait(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
                if message.type == WSMsgType.TEXT and self.rest_over_socket and self.serial:
                    await self._socket_request(ws, request.query.get("app", ""), message.data)
                elif message.type == WSMsgType.TEXT and self.rest_over_socket:
                    task = asyncio.create_task(
                        self._socket_request(ws, request.query.get("app", ""), message.data)
                    )
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            self.sockets.remove(ws)
        return ws

    async def next_socket(self) -> web.WebSocketResponse:
        """The next events socket the client opens (within 2 s)."""
        async with asyncio.timeout(2.0):
            return await self.connected.get()

    async def send(self, ws: web.WebSocketResponse, *events: dict[str, Any]) -> None:
        for event in events:
            await ws.send_str(json.dumps(event))


def closed_port() -> int:
    """A local port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def channel(channel_id: str, state: str = "Up") -> dict[str, Any]:
    """A Channel as Asterisk 22 sends it."""
    return {
        "id": channel_id,
        "protocol_id": "",
        "name": f"PJSIP/trunk-{channel_id}",
        "state": state,
        "caller": {"name": "", "number": "1000"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "stasis",
            "exten": "100",
            "priority": 1,
            "app_name": "Stasis",
            "app_data": "pbx",
        },
        "creationtime": "2025-01-01T00:00:00.000+0000",
        "language": "en",
    }


def channel_event(kind: str, channel_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "application": "pbx",
        "timestamp": "2025-01-01T00:00:00.000+0000",
        "channel": channel(channel_id),
        **extra,
    }
