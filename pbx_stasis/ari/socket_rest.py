"""ARI REST over the events WebSocket (Asterisk 22.2 and later, 20.13 and later).

A request is one `RESTRequest` message on the socket the events already come on; Asterisk
answers with a `RESTResponse` (status, reason, body as a string) on the same socket, ordered
with the events. Measured at 50 calls/s (docs/benchmarks.md): ~10% less Python CPU per queued
call than aiohttp HTTP requests, and half the p99 from a caller's INVITE to the agent's.
EventStream attaches the socket once Asterisk answered a probe; the client falls back to HTTP
while there is none (not connected yet, reconnecting, an Asterisk without the feature), while
the reader is paused for backpressure, and for binary answers (stored recording files).

Asterisk reads one socket's requests in one thread, one after another: an `answer` that waits
for the channel's SIP stack holds up every request behind it. So the client keeps a pool
(`RestSockets`): the events socket plus request-only sockets (ari/request_sockets.py), and each
request takes the usable socket with the fewest requests in flight.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from pbx_stasis.ari.errors import AriUnreachable

Answer = tuple[int, str | None, bytes]  # status, reason phrase, body
# How often requests past their time are looked for: one timer per socket while requests are
# in flight, instead of a timeout per request (a request fails within this much of its time).
SWEEP_S = 0.25
# What a query value may hold as it is: RFC 3986 allows "/", ":", "@" and "," there, Asterisk
# reads them back unchanged, and aiohttp's HTTP requests leave them so too. They are in most
# values (PJSIP/..., channel:..., a,b): quote() handles a value it must change one byte at a time.
_QUERY_SAFE = "/:@,"
_SAFE = re.compile(r"[A-Za-z0-9_.~/:@,-]*").fullmatch  # needs no percent-encoding


class SocketRest:
    """The requests in flight on one events WebSocket, matched to answers by request id."""

    def __init__(self) -> None:
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        # request id -> (method, path, answer, when it fails unanswered, its time)
        self._pending: dict[str, tuple[str, str, asyncio.Future[Answer], float, float]] = {}
        self._sweeping: asyncio.TimerHandle | None = None
        self._ids = itertools.count(1)
        self.paused = False  # the reader waits for handlers: an answer could not be read
        self.sent = 0  # requests sent over the socket (for benchmarks and tests)

    @property
    def usable(self) -> bool:
        return self._ws is not None and not self._ws.closed and not self.paused

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def attach(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self._ws = ws

    def detach(self, reason: str) -> None:
        """The socket is gone: requests waiting on it fail (their outcome is unknown, as with an
        HTTP connection lost mid-request); the next ones go over HTTP."""
        self._ws = None
        pending, self._pending = self._pending, {}
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
        for method, path, future, _, _ in pending.values():
            if not future.done():
                future.set_exception(AriUnreachable(method, path, reason))

    async def send(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: str | None,
        within: float | None,
    ) -> Coroutine[Any, Any, Answer]:
        """Put one request on the socket now (the write rarely waits); returns the coroutine
        that awaits Asterisk's answer, which the caller must await."""
        ws = self._ws
        if ws is None or ws.closed:
            raise AriUnreachable(method, path, "the events WebSocket is not connected")
        request_id = f"r{next(self._ids)}"
        uri = path.lstrip("/")
        if params:
            uri += "?" + "&".join(
                f"{key}={value}" if _SAFE(value) else f"{key}={quote(value, safe=_QUERY_SAFE)}"
                for key, value in params.items()
            )
        message: dict[str, Any] = {
            "type": "RESTRequest", "transaction_id": request_id, "request_id": request_id,
            "method": method, "uri": uri,
        }
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = body
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        within = within if within is not None else float("inf")
        self._pending[request_id] = (method, path, future, loop.time() + within, within)
        if self._sweeping is None:
            self._sweeping = loop.call_later(SWEEP_S, self._sweep)
        try:
            await ws.send_str(orjson.dumps(message).decode())
        except (ConnectionError, aiohttp.ClientError) as exc:
            self._pending.pop(request_id, None)
            raise AriUnreachable(method, path, f"events WebSocket: {exc}") from exc
        self.sent += 1
        return self._answer(request_id, future)

    async def _answer(self, request_id: str, future: asyncio.Future[Answer]) -> Answer:
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    def _sweep(self) -> None:
        """Fail the requests past their time; look again while some are in flight."""
        self._sweeping = None
        if not self._pending:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for request_id, (method, path, future, deadline, within) in list(self._pending.items()):
            if now >= deadline:
                del self._pending[request_id]
                if not future.done():
                    future.set_exception(AriUnreachable(
                        method, path, f"no answer on the events WebSocket within {within}s"))
        if self._pending:
            self._sweeping = loop.call_later(SWEEP_S, self._sweep)

    def resolve(self, message: dict[str, Any]) -> None:
        """A RESTResponse arrived: hand it to its request (late answers are dropped)."""
        entry = self._pending.pop(str(message.get("request_id")), None)
        if entry is None or entry[2].done():
            return
        body = message.get("message_body")
        payload = body.encode() if isinstance(body, str) else b""
        status = message.get("status_code")
        entry[2].set_result((
            status if isinstance(status, int) else 500,
            str(message.get("reason_phrase") or ""),
            payload,
        ))


class RestSockets:
    """The sockets that carry requests, each attached while it is up."""

    def __init__(self) -> None:
        self._sockets: list[SocketRest] = []

    def add(self, rest: SocketRest) -> None:
        if rest not in self._sockets:
            self._sockets.append(rest)

    def remove(self, rest: SocketRest) -> None:
        if rest in self._sockets:
            self._sockets.remove(rest)

    def __len__(self) -> int:
        return len(self._sockets)

    @property
    def sent(self) -> int:
        return sum(rest.sent for rest in self._sockets)

    def pick(self) -> SocketRest | None:
        """The usable socket with the fewest requests in flight (the first on a tie), if any."""
        if len(self._sockets) == 1:  # the usual case: nothing to compare
            only = self._sockets[0]
            return only if only.usable else None
        best: SocketRest | None = None
        for rest in self._sockets:
            if rest.usable and (best is None or rest.in_flight < best.in_flight):
                best = rest
                if not rest.in_flight:
                    break
        return best
