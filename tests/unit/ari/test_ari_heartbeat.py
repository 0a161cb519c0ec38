"""The ARI sockets' heartbeat under load: a socket is dropped only when nothing comes back, not
because Asterisk serves a slow request before it answers the ping, nor because this process's
event loop was too busy to read the pong in time (found by scripts/bench-waiting under load
150-200: sockets dropped for a late pong failed the requests in flight, and their callers)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from ari_fake_server import FakeAri, Reply
from test_ari_events import eventually

from pbx_stasis.ari import AriClient, AriEvent, EventStream


async def _ignore(event: AriEvent) -> None:
    pass


def quick_stream(ari: AriClient, **options: Any) -> EventStream:
    """Pinged after 0.2 s of silence; 0.1 s for the pong when no request is in flight."""
    return EventStream(ari, "pbx", _ignore, heartbeat=0.2, backoff_initial=0.05,
                       backoff_max=0.2, **options)


async def test_a_slow_request_on_the_socket_does_not_get_it_dropped(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    """Asterisk answers a socket's ping after the request it is serving: a request slower than
    the pong's patience keeps its socket, and gets its answer."""
    fake_ari.serial = True
    fake_ari.replies[("POST", "/channels/c1/answer")] = Reply(204, delay=0.6)
    async with quick_stream(ari) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        await ari.channels.answer("c1")
        stats = events.stats
    assert (stats.connects, stats.failures) == (1, 0), stats.last_error
    assert [s.via for s in fake_ari.seen if s.path == "/channels/c1/answer"] == ["socket"]


async def test_a_silent_socket_with_a_request_in_flight_is_dropped_when_the_request_times_out(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    """The patience a request in flight buys is the request's own time (2 s here): a socket
    that never answers is dropped then, and reconnected."""
    fake_ari.serial = True
    # Past the request's 2 s, not much more: Asterisk's stand-in serves the socket's frames one
    # by one (serial), so it stays busy with this request until then, and its stop waits for it.
    fake_ari.replies[("POST", "/channels/c1/answer")] = Reply(204, delay=3.0)
    async with quick_stream(ari) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        started = time.monotonic()
        with pytest.raises(Exception, match=r"within 2\.0s"):
            await ari.channels.answer("c1")
        await eventually(lambda: events.stats.connects == 2, within=4.0)
        assert "No PONG" in (events.stats.last_error or "")
        assert time.monotonic() - started < 4.5  # 2 s, then a 0.1 s look and a reconnect


@pytest.fixture
def threaded_ari() -> Iterator[str]:
    """An events WebSocket served from a thread of its own (its own event loop), so that it
    answers pings at once while this test's loop is busy; no REST on the socket."""
    ready = threading.Event()
    urls: list[str] = []
    stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping: a ping is answered as soon as it is read
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/ari/events", events)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/ari")
        stop = asyncio.Event()
        stops.append((asyncio.get_running_loop(), stop))
        ready.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    yield urls[0]
    loop, stop = stops[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)


async def test_a_busy_event_loop_does_not_drop_a_socket_whose_pong_came_back(
    threaded_ari: str,
) -> None:
    """Every turn of this process's loop takes 0.3 s (a starved or overloaded process): the
    pong arrives within a turn, and the socket stays."""
    async with AriClient(threaded_ari, "pbx", "secret") as ari:
        async with quick_stream(ari, rest_over_socket=False) as events:
            await eventually(lambda: events.connected)
            for _ in range(10):
                time.sleep(0.3)  # noqa: ASYNC251 (on purpose: the busy turn of the loop)
                await asyncio.sleep(0)
            await asyncio.sleep(0.3)
            stats = events.stats
    assert (stats.connects, stats.failures) == (1, 0), stats.last_error
