"""The ARI events WebSocket: stays connected, resyncs, and hands events out in order per channel.

Asterisk does not buffer events while the socket is down, so every (re)connect first awaits
the application's `on_connect` hook (adopt channels still in Stasis, rebuild state), and only
then dispatches what arrived meanwhile. Events go to ordered lanes keyed by `event_key`:
one channel's events are handled one after another, different channels concurrently, so a
slow handler stalls only its own channel. A lane exists only while it has work.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import cast

import aiohttp
import orjson

from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.client import AriClient, encode_query
from pbx_stasis.ari.errors import AriAuthError, AriUnreachable
from pbx_stasis.ari.metrics import count_event
from pbx_stasis.ari.models import AriEvent, event_key
from pbx_stasis.ari.socket_rest import SWEEP_S, Answer, SocketRest

log = logging.getLogger(__name__)

EventHandler = Callable[[AriEvent], Awaitable[None]]
# A handler that never waits (it files the event, e.g. into a call's inbox): called inline by the
# reader, in order, with no lane task per event.
InlineHandler = Callable[[AriEvent], None]
ConnectHook = Callable[[], Awaitable[None]]
EventKey = Callable[[AriEvent], str | None]
SOCKET_PROBE_S = 2.0  # how long a new connection waits for Asterisk to answer over the socket
# A socket that carried nothing for this long is pinged, and dropped when nothing at all comes
# back within half of it: a silent connection (TCP up, nothing flowing: a black-holed link, a
# hung proxy) is found within 3 s, not when the kernel gives up on it minutes later. Calls that
# enter Stasis meanwhile lose their StasisStart; the resync of the next connection takes them.
# While requests are in flight on the socket the pong may wait behind them (Asterisk reads a
# socket's frames in the thread that serves its requests, one after another): the socket then
# gets the requests' own time (the client's timeout) before it is dropped (`_watch`).
HEARTBEAT_S = 2.0
# While the same reason keeps a socket down (Asterisk not started yet, a wrong password), it is
# a warning once and again at most this often; the retries between are logged at debug level.
REPEAT_WARNING_S = 60.0


# What receive() returns once the socket is closing or closed (what ends `async for`).
_SOCKET_ENDED = frozenset({aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                           aiohttp.WSMsgType.CLOSED})


@dataclass(frozen=True, slots=True)
class EventStreamStats:
    """A snapshot of an EventStream's health, for logs, metrics and tests."""

    connected: bool
    attempts: int
    connects: int
    reconnects: int
    failures: int
    received: int
    dispatched: int
    handler_errors: int
    pending: int
    lanes: int
    last_error: str | None


class _Lane:
    __slots__ = ("queue", "task")

    def __init__(self, first: AriEvent) -> None:
        self.queue: deque[AriEvent] = deque((first,))
        self.task: asyncio.Task[None] | None = None


class EventStream:
    """Events of one Stasis application, delivered to `handler(event)`: a coroutine function
    runs in per-channel lanes (below); a plain function (InlineHandler) is called by the reader
    itself, in order, and must not block.

    `on_replaced` is called when Asterisk says another connection took the application over
    (ApplicationReplaced): this one gets no more events.
    `on_connect` is awaited after every (re)connect, before any event of that connection is
    dispatched; if it raises, the connection is dropped and retried. Reconnects back off
    exponentially with jitter (`backoff_initial` doubling up to `backoff_max`), reset once a
    connection has lived `stable_after` seconds. Handler exceptions are logged and counted;
    they never stop the stream. If `max_pending` events wait for handlers, reading pauses
    until they drain (Asterisk may then drop the socket, and the resync covers the gap).
    With `rest_over_socket`, the client's requests travel on this socket while it is up and
    Asterisk answered a probe within `socket_probe` seconds (ari/socket_rest.py).
    """

    def __init__(
        self,
        ari: AriClient,
        app: str,
        handler: EventHandler | InlineHandler,
        *,
        on_connect: ConnectHook | None = None,
        on_replaced: Callable[[], None] | None = None,
        key: EventKey = event_key,
        subscribe_all: bool = False,
        heartbeat: float = HEARTBEAT_S,
        connect_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 10.0,
        max_pending: int = 10_000,
        rest_over_socket: bool = True,
        socket_probe: float = SOCKET_PROBE_S,
        role: str = "events",
    ) -> None:
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        self._ari = ari
        self._app = app
        self._handler = handler
        self._inline = not inspect.iscoroutinefunction(handler)
        self._on_connect = on_connect
        self._on_replaced = on_replaced
        self._key = key
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._stable_after = stable_after
        self._max_pending = max_pending
        self._rest_over_socket = rest_over_socket
        self._socket_probe = socket_probe
        self._role = role  # in log lines: "events", or "requests" for a request-only socket
        self._rest: SocketRest | None = None  # requests on this connection's socket
        self._heard = 0.0  # loop time of the last frame read from the socket (the heartbeat's)
        self._reading_paused = False  # the reader waits for handlers (backpressure)
        self._url = ari.url(ops.EVENTS_WEBSOCKET.render({}))
        self._params = encode_query(
            ops.EVENTS_WEBSOCKET, {"app": app, "subscribeAll": subscribe_all}
        )
        self._run_task: asyncio.Task[None] | None = None
        self._lanes: dict[str | None, _Lane] = {}
        self._held: list[AriEvent] | None = None
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False
        self._attempts = 0
        self._connects = 0
        self._failures = 0
        self._received = 0
        self._dispatched = 0
        self._handler_errors = 0
        self._pending = 0
        self._last_error: str | None = None
        self._warned: tuple[str, float] | None = None  # the reason last warned of, and when

    # -- public surface -------------------------------------------------------------------

    @property
    def app(self) -> str:
        return self._app

    @property
    def connected(self) -> bool:
        """True while the socket is open and the `on_connect` hook has completed."""
        return self._ready.is_set()

    @property
    def stats(self) -> EventStreamStats:
        return EventStreamStats(
            connected=self.connected,
            attempts=self._attempts,
            connects=self._connects,
            reconnects=max(0, self._connects - 1),
            failures=self._failures,
            received=self._received,
            dispatched=self._dispatched,
            handler_errors=self._handler_errors,
            pending=self._pending,
            lanes=len(self._lanes),
            last_error=self._last_error,
        )

    def start(self) -> None:
        """Start connecting in the background (idempotent)."""
        if self._closed:
            raise RuntimeError("EventStream is closed")
        if self._run_task is None:
            self._run_task = asyncio.create_task(self._run(), name=f"ari-events:{self._app}")

    async def wait_connected(self) -> None:
        """Wait until connected and resynced (bound it with `asyncio.timeout`)."""
        await self._ready.wait()

    async def join(self) -> None:
        """Wait until every event received so far has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        """Disconnect, cancel handlers still running and wait for them to finish."""
        self._closed = True
        current = asyncio.current_task()
        tasks: list[asyncio.Task[None]] = []
        if self._run_task is not None and self._run_task is not current:
            tasks.append(self._run_task)
        tasks.extend(
            lane.task
            for lane in self._lanes.values()
            if lane.task is not None and lane.task is not current
        )
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
        self._pending = 0
        self._idle.set()
        self._ready.clear()

    async def __aenter__(self) -> EventStream:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- connection -----------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_initial * 2.0 ** min(failures, 32))
        # Equal jitter: never below half the ceiling (no busy loop), spread so that many
        # workers restarting with Asterisk do not reconnect in lockstep.
        return ceiling * random.uniform(0.5, 1.0)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                reason, connected_at = await self._connect_once()
            except Exception as exc:
                # Whatever went wrong, the stream must not die silently: log, back off, retry.
                log.exception("ARI %s for app %r: unexpected failure", self._role, self._app)
                reason, connected_at = f"unexpected failure: {exc!r}", None
            if connected_at is not None and loop.time() - connected_at >= self._stable_after:
                failures = 0
            delay = self._backoff(failures)
            failures += 1
            self._failures += 1
            self._last_error = reason
            now = loop.time()
            warn = (self._warned is None or self._warned[0] != reason
                    or now - self._warned[1] >= REPEAT_WARNING_S)
            if warn:
                self._warned = (reason, now)
            log.log(
                logging.WARNING if warn else logging.DEBUG,
                "ARI %s for app %r at %s: %s; reconnecting in %.1fs",
                self._role,
                self._app,
                self._url,
                reason,
                delay,
            )
            await asyncio.sleep(delay)

    async def _connect_once(self) -> tuple[str, float | None]:
        """One connection's life; returns why it ended and when it was established."""
        self._attempts += 1
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws = await self._ari.session.ws_connect(
                    self._url,
                    params=self._params,
                    headers=self._ari.headers(),
                    # Our own heartbeat (`_watch`): aiohttp's drops a socket whose pong came
                    # back while the loop was busy, and one whose pong waits behind a request.
                    autoping=False,
                    # Bounded so close() never hangs on a peer that does not answer.
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                return str(AriAuthError("GET", "/events", self._ari.user)), None
            return f"WebSocket handshake refused: {exc.status} {exc.message}", None
        except aiohttp.ClientConnectorError as exc:
            return f"cannot connect: {exc.os_error.strerror or exc.os_error}", None
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}", None
        except TimeoutError:
            return f"no WebSocket handshake within {self._connect_timeout}s", None

        loop = asyncio.get_running_loop()
        connected_at = loop.time()
        self._connects += 1
        self._warned = None  # a later failure is news again
        log.info("ARI %s connected for app %r at %s", self._role, self._app, self._url)
        self._held = []
        self._heard = connected_at
        receiver = asyncio.create_task(self._receive(ws), name=f"ari-events-read:{self._app}")
        watchdog = asyncio.create_task(self._watch(ws), name=f"ari-heartbeat:{self._app}")
        silent: str | None = None
        hook: asyncio.Task[None] | None = None
        try:
            hook = asyncio.create_task(self._prepare(ws), name=f"ari-resync:{self._app}")
            await asyncio.wait({hook, receiver, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if watchdog.done():
                silent = watchdog.result()
                return f"connection lost during resync ({silent})", None
            if not hook.done():
                return f"connection lost during resync ({self._close_reason(ws)})", None
            if hook.cancelled():
                return "resync hook was cancelled", None
            failure = hook.exception()
            if failure is not None:
                log.error("ARI resync hook failed for app %r", self._app, exc_info=failure)
                return f"resync hook failed: {failure!r}", None
            held, self._held = self._held, None
            for event in held:
                self._dispatch(event)
            self._ready.set()
            await asyncio.wait({receiver, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if watchdog.done():
                silent = watchdog.result()
                return silent, connected_at
            return self._close_reason(ws), connected_at
        finally:
            self._ready.clear()
            dropped = len(self._held or ())
            if dropped:
                log.warning("dropped %d ARI events received before resync completed", dropped)
            self._held = None
            if self._rest is not None:
                why = silent or self._close_reason(ws)
                self._rest.detach(f"the events WebSocket closed ({why})")
                self._ari.sockets.remove(self._rest)
                self._rest = None
            for task in (hook, receiver, watchdog):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if silent is None:
                await ws.close()
            else:  # nothing comes back: no closing handshake to wait for (aborted on timeout)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.close(), 0.05)

    async def _prepare(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        """Before this connection's events are dispatched: requests over the socket when
        Asterisk answers them, then the application's resync."""
        if self._rest_over_socket:
            await self._offer_socket(ws)
        if self._on_connect is not None:
            await self._on_connect()

    async def _offer_socket(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        """Requests go over this socket once Asterisk answers a ping on it. The connection waits
        `socket_probe` for the answer; a later one (Asterisk busy: under load the answer can
        take seconds) still moves the requests to the socket, where they would otherwise stay
        on HTTP, dearer for both sides, until the next reconnect. No answer within the
        requests' own time: an Asterisk without requests over WebSockets (before 22.2/20.13)."""
        rest = SocketRest()
        rest.attach(ws)
        self._rest = rest
        try:
            probe = asyncio.ensure_future(
                await rest.send("GET", "/asterisk/ping", {}, None, self._ari.timeout))
        except AriUnreachable as exc:
            self._leave_to_events(rest, exc)
            return
        try:
            done, _ = await asyncio.wait({probe}, timeout=self._socket_probe)
        except asyncio.CancelledError:
            probe.cancel()
            raise
        if done:
            self._probed(rest, probe)
        else:
            log.info("ARI %s for app %r: requests go over HTTP until Asterisk answers on the "
                     "socket (not within %g s)", self._role, self._app, self._socket_probe)
            probe.add_done_callback(lambda answer: self._probed(rest, answer, late=True))

    def _probed(self, rest: SocketRest, answer: asyncio.Future[Answer], *,
                late: bool = False) -> None:
        """The probe's outcome: the socket takes requests, or it is left to events."""
        problem: object = None
        if answer.cancelled():
            problem = "the probe was cancelled"
        elif answer.exception() is not None:
            problem = answer.exception()
        elif answer.result()[0] != 200:
            problem = f"the socket answered {answer.result()[0]}"
        if rest is not self._rest:
            return  # that connection is gone already (its socket was detached with it)
        if problem is not None or not rest.usable:
            self._leave_to_events(rest, problem or "the socket closed")
            return
        self._ari.sockets.add(rest)
        if late:
            log.info("ARI %s for app %r: requests move to the socket (Asterisk answered late)",
                     self._role, self._app)

    def _leave_to_events(self, rest: SocketRest, problem: object) -> None:
        log.info("ARI requests stay on HTTP: %s (Asterisk before 22.2 / 20.13?)", problem)
        rest.detach("not used")
        self._rest = None

    @staticmethod
    def _close_reason(ws: aiohttp.ClientWebSocketResponse[bool]) -> str:
        error = ws.exception()
        if error is not None:
            return f"connection failed: {type(error).__name__}: {error}"
        return f"socket closed by Asterisk (code {ws.close_code})"

    async def _watch(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> str:
        """The heartbeat: ping after `heartbeat` seconds without a frame; return why the link is
        dead once nothing at all came back within half of that, or, while requests are in
        flight on the socket, within the client's request timeout (Asterisk answers the ping
        after the request it is serving). Runs as a task, so a reader woken by the pong in the
        same turn of a busy loop reads it before this one looks."""
        loop = asyncio.get_running_loop()
        patience = self._heartbeat / 2
        # Past the requests' own time and the sweep that fails them: a request in flight fails
        # first with its timeout, then the socket (no longer busy) is judged on `patience`.
        busy_patience = self._ari.timeout + SWEEP_S + patience
        while True:
            quiet = loop.time() - self._heard
            if quiet < self._heartbeat or self._reading_paused:
                await asyncio.sleep(self._heartbeat - quiet if quiet < self._heartbeat
                                    else self._heartbeat)
                continue
            pinged = loop.time()
            try:
                await ws.ping()
            except (ConnectionError, aiohttp.ClientError) as exc:
                return f"ping failed: {exc or type(exc).__name__}"
            while self._heard < pinged and not self._reading_paused:
                rest = self._rest
                waited = loop.time() - pinged
                allowed = busy_patience if rest is not None and rest.in_flight else patience
                if waited >= allowed:
                    await asyncio.sleep(0)  # a reader woken in this same turn goes first
                    if self._heard < pinged:
                        return f"No PONG received within {allowed:g} s of a ping"
                    break
                await asyncio.sleep(min(allowed - waited, patience))

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        loop = asyncio.get_running_loop()
        # receive() itself rather than `async for`: its __anext__ is one more coroutine frame
        # resumed each time a message is awaited (~28 a queued call), for this same test.
        while (message := await ws.receive()).type not in _SOCKET_ENDED:
            self._heard = loop.time()
            if message.type == aiohttp.WSMsgType.TEXT:
                self._accept(message.data)
                if self._pending >= self._max_pending:  # no room (as `_room` says, cheaper)
                    rest = self._rest
                    if rest is not None and rest.in_flight:
                        continue  # a handler may be waiting for an answer behind these events
                    log.warning("%d ARI events waiting for handlers: pausing reads", self._pending)
                    if rest is not None:
                        rest.paused = True  # new requests take HTTP meanwhile
                    self._reading_paused = True
                    await self._room.wait()
                    self._reading_paused = False
                    self._heard = loop.time()
                    if rest is not None:
                        rest.paused = False
            elif message.type == aiohttp.WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == aiohttp.WSMsgType.ERROR:
                return

    def _accept(self, text: str) -> None:
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            log.warning("ignoring an ARI message that is not JSON: %.200s", text)
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            log.warning("ignoring an ARI message without a type: %.200s", text)
            return
        if event["type"] == "RESTResponse":
            if self._rest is not None:
                self._rest.resolve(event)
            return
        self._received += 1
        count_event(event["type"])
        if event["type"] == "ApplicationReplaced":
            # Reconnecting would steal the app back and start a tug of war with the other
            # process; say it loudly and keep it visible in the stats instead.
            self._last_error = "application taken over by another connection"
            log.error(
                "another connection took over ARI application %r: this one gets no more events",
                self._app,
            )
            if self._on_replaced is not None:
                self._on_replaced()
        if self._held is not None:
            self._held.append(event)
        else:
            self._dispatch(event)

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self, event: AriEvent) -> None:
        if self._inline:
            try:
                self._handler(event)
            except Exception:
                self._handler_errors += 1
                log.exception("ARI handler failed on %s", event["type"])
            self._dispatched += 1
            return
        try:
            key = self._key(event)
        except Exception:
            log.exception("event key failed for %s; using the global lane", event.get("type"))
            key = None
        self._pending += 1
        self._idle.clear()
        if self._pending >= self._max_pending:
            self._room.clear()
        lane = self._lanes.get(key)
        if lane is not None:
            lane.queue.append(event)
            return
        lane = _Lane(event)
        self._lanes[key] = lane
        lane.task = asyncio.create_task(self._drain(key, lane), name=f"ari-lane:{key}")

    async def _drain(self, key: str | None, lane: _Lane) -> None:
        try:
            while lane.queue:
                event = lane.queue.popleft()
                try:
                    await cast(EventHandler, self._handler)(event)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    # The handler's own cancellation, not ours: keep the lane going.
                    self._handler_errors += 1
                    log.error("ARI handler cancelled itself on %s (%s)", event["type"], key)
                except Exception:
                    self._handler_errors += 1
                    log.exception("ARI handler failed on %s (%s)", event["type"], key)
                finally:
                    self._settle()
        finally:
            # No await since the queue was found empty: nothing can have been appended.
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _settle(self) -> None:
        self._dispatched += 1
        self._pending = max(0, self._pending - 1)
        if self._pending < self._max_pending:
            self._room.set()
        if self._pending == 0:
            self._idle.set()
