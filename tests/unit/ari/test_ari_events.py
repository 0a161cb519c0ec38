"""EventStream against a fake ARI server: reconnects, resync, per-channel order, backoff."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import polling
import pytest
from ari_fake_server import FakeAri, channel_event, closed_port

from pbx_stasis.ari import AriClient, AriEvent, EventStream


def fast_stream(ari: AriClient, handler: Any, **options: Any) -> EventStream:
    options.setdefault("backoff_initial", 0.05)
    options.setdefault("backoff_max", 0.2)
    return EventStream(ari, "pbx", handler, heartbeat=5.0, **options)


async def eventually(condition: Callable[[], bool], within: float = 1.5) -> None:
    """The shared polling helper with this file's pace (a fake Asterisk answers in ms)."""
    await polling.eventually(condition, within=within, every=0.01)


def dtmf(channel_id: str, digit: int) -> dict[str, Any]:
    return channel_event("ChannelDtmfReceived", channel_id, digit=str(digit), duration_ms=100)


async def test_reconnects_and_resyncs_after_asterisk_closes_the_socket(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    resyncs: list[float] = []
    handled: list[str] = []

    async def on_connect() -> None:
        resyncs.append(time.monotonic())

    async def handler(event: AriEvent) -> None:
        handled.append(event["type"])

    async with fast_stream(ari, handler, on_connect=on_connect) as events:
        first = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await first.close()

        second = await fake_ari.next_socket()
        await eventually(lambda: len(resyncs) == 2 and events.connected)
        await fake_ari.send(second, channel_event("StasisStart", "c1", args=[]))
        await eventually(lambda: handled == ["StasisStart"])

        stats = events.stats
    assert stats.connects == 2
    assert stats.reconnects == 1
    assert stats.failures == 1
    assert "socket closed by Asterisk" in (stats.last_error or "")
    assert fake_ari.ws_params == [{"app": "pbx", "subscribeAll": "false"}] * 2


async def test_events_wait_until_the_resync_hook_is_done(fake_ari: FakeAri, ari: AriClient) -> None:
    story: list[str] = []
    fake_ari.greeting = [channel_event("StasisStart", "c1", args=[])]

    async def on_connect() -> None:
        story.append("resync started")
        await asyncio.sleep(0.1)  # on purpose: a slow resync, which events must wait for
        story.append("resync done")

    async def handler(event: AriEvent) -> None:
        story.append(event["type"])

    async with fast_stream(ari, handler, on_connect=on_connect) as events:
        await eventually(lambda: "StasisStart" in story)
        assert events.stats.received == 1

    assert story == ["resync started", "resync done", "StasisStart"]


async def test_a_failing_resync_drops_the_connection_and_retries(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    calls = 0

    async def on_connect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database not ready")

    async def handler(event: AriEvent) -> None:
        pass

    async with fast_stream(ari, handler, on_connect=on_connect) as events:
        await eventually(lambda: events.connected)
        stats = events.stats

    assert calls == 2
    assert len(fake_ari.ws_attempts) == 2
    assert "resync hook failed" in (stats.last_error or "")


async def test_each_channel_sees_its_events_in_order(fake_ari: FakeAri, ari: AriClient) -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    rng = random.Random(7)

    async def handler(event: AriEvent) -> None:
        # Random handler latency: lanes run concurrently, yet each keeps its own order.
        await asyncio.sleep(rng.random() * 0.003)
        seen[event["channel"]["id"]].append(event["digit"])

    async with fast_stream(ari, handler) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        sent = [dtmf(f"c{n % 3}", n) for n in range(60)]
        await fake_ari.send(ws, *sent)
        await eventually(lambda: events.stats.dispatched == 60)
        await events.join()
        stats = events.stats

    for ident in ("c0", "c1", "c2"):
        assert seen[ident] == [str(n) for n in range(60) if f"c{n % 3}" == ident]
    assert (stats.pending, stats.lanes, stats.handler_errors) == (0, 0, 0)


async def test_a_slow_channel_does_not_stall_the_others(fake_ari: FakeAri, ari: AriClient) -> None:
    release = asyncio.Event()
    seen: dict[str, list[str]] = defaultdict(list)

    async def handler(event: AriEvent) -> None:
        ident = event["channel"]["id"]
        if ident == "slow":
            await release.wait()
        seen[ident].append(event["digit"])

    async with fast_stream(ari, handler) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await fake_ari.send(ws, dtmf("slow", 1), dtmf("fast", 2), dtmf("fast", 3), dtmf("slow", 4))

        await eventually(lambda: seen["fast"] == ["2", "3"])
        assert seen["slow"] == []
        assert events.stats.pending == 2
        assert events.stats.lanes == 1

        release.set()
        await eventually(lambda: seen["slow"] == ["1", "4"])


async def test_handler_errors_are_logged_and_the_stream_goes_on(
    fake_ari: FakeAri, ari: AriClient, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handler(event: AriEvent) -> None:
        if event["digit"] == "1":
            raise ValueError("bad digit")
        handled.append(event["digit"])

    async with fast_stream(ari, handler) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await fake_ari.send(ws, dtmf("c1", 1), dtmf("c1", 2))
        await eventually(lambda: handled == ["2"])
        assert events.stats.handler_errors == 1
        assert events.connected

    assert "ARI handler failed on ChannelDtmfReceived (channel:c1)" in caplog.text


async def test_an_inline_handler_gets_every_event_in_order_without_lanes(
    fake_ari: FakeAri, ari: AriClient, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[tuple[str, str]] = []

    def handler(event: AriEvent) -> None:  # a plain function: called by the reader itself
        if event["digit"] == "0":
            raise ValueError("bad digit")
        handled.append((event["channel"]["id"], event["digit"]))

    async with fast_stream(ari, handler) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await fake_ari.send(ws, *(dtmf(f"c{n % 3}", n) for n in range(10)))
        await eventually(lambda: len(handled) == 9)
        stats = events.stats
    assert handled == [(f"c{n % 3}", str(n)) for n in range(1, 10)]
    assert (stats.handler_errors, stats.dispatched, stats.lanes) == (1, 10, 0)
    assert "ARI handler failed on ChannelDtmfReceived" in caplog.text


async def test_events_without_a_channel_share_one_ordered_lane(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    order: list[str] = []

    async def handler(event: AriEvent) -> None:
        await asyncio.sleep(0.002 if event["endpoint"]["resource"] == "a1" else 0)  # a slow a1
        order.append(event["endpoint"]["resource"])

    def endpoint_event(resource: str) -> dict[str, Any]:
        endpoint = {"technology": "PJSIP", "resource": resource, "channel_ids": []}
        return {"type": "EndpointStateChange", "application": "pbx", "endpoint": endpoint}

    async with fast_stream(ari, handler) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await fake_ari.send(ws, *(endpoint_event(r) for r in ["a1", "a2", "a1", "a3"]))
        await eventually(lambda: len(order) == 4)

    assert order == ["a1", "a2", "a1", "a3"]


async def test_reading_pauses_while_too_many_events_wait(fake_ari: FakeAri, ari: AriClient) -> None:
    release = asyncio.Event()

    async def handler(event: AriEvent) -> None:
        await release.wait()

    async with fast_stream(ari, handler, max_pending=2) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await fake_ari.send(ws, *(dtmf("c1", n) for n in range(6)))
        await eventually(lambda: events.stats.received == 2)
        await asyncio.sleep(0.1)  # on purpose: time in which no more may be read
        assert events.stats.received == 2

        release.set()
        await eventually(lambda: events.stats.dispatched == 6)


async def test_close_cancels_running_handlers_promptly(fake_ari: FakeAri, ari: AriClient) -> None:
    outcome: list[str] = []

    async def handler(event: AriEvent) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    events = fast_stream(ari, handler)
    events.start()
    ws = await fake_ari.next_socket()
    await eventually(lambda: events.connected)
    await fake_ari.send(ws, dtmf("c1", 1))
    await eventually(lambda: events.stats.pending == 1)

    started = time.monotonic()
    await events.close()

    assert time.monotonic() - started < 0.5
    assert outcome == ["cancelled"]
    assert not events.connected
    assert events.stats.lanes == 0
    await eventually(lambda: not fake_ari.sockets)


async def test_no_busy_loop_while_asterisk_refuses_connections() -> None:
    async def handler(event: AriEvent) -> None:
        pass

    async with AriClient(f"http://127.0.0.1:{closed_port()}/ari", "pbx", "secret") as ari:
        events = fast_stream(ari, handler, backoff_initial=0.05, backoff_max=1.0)
        cpu_before = time.process_time()
        events.start()
        await asyncio.sleep(1.5)  # on purpose: the backoff over 1.5 s is what is measured
        cpu = time.process_time() - cpu_before
        stats = events.stats
        await events.close()

    # Delays of 0.05, 0.1, 0.2, 0.4, 0.8 s, each with jitter in [50 %, 100 %]: 5 to 7 tries.
    assert 4 <= stats.attempts <= 8, stats
    assert stats.failures == stats.attempts
    assert not stats.connected
    assert "cannot connect" in (stats.last_error or "")
    assert cpu < 0.5


async def test_wrong_password_backs_off_and_says_what_to_check(
    fake_ari: FakeAri, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(event: AriEvent) -> None:
        pass

    caplog.set_level(logging.DEBUG, logger="pbx_stasis.ari.events")
    async with AriClient(fake_ari.base_url, "pbx", "wrong") as ari:
        events = fast_stream(ari, handler, backoff_initial=0.05, backoff_max=1.0)
        events.start()
        await asyncio.sleep(1.2)  # on purpose: the backoff over 1.2 s is what is measured
        await events.close()

    attempts = fake_ari.ws_attempts
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert 3 <= len(attempts) <= 7, gaps
    assert all(gap >= 0.02 for gap in gaps)
    assert gaps[-1] > gaps[0]
    assert "ARI rejected user 'pbx' (401): check PBX_ARI_USER/PBX_ARI_PASSWORD" in caplog.text
    # The last attempt may be cut by close() after the server saw it and before its 401 came back.
    told = [r for r in caplog.records if "rejected user" in r.getMessage()]
    assert len(attempts) - 1 <= len(told) <= len(attempts)
    # A warning once; the same reason again is a retry, at debug level (no flood while the
    # password stays wrong or Asterisk is not started yet).
    assert [r.levelno for r in told] == [logging.WARNING] + [logging.DEBUG] * (len(told) - 1)


async def test_garbage_from_the_socket_is_ignored(
    fake_ari: FakeAri, ari: AriClient, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handler(event: AriEvent) -> None:
        handled.append(event["type"])

    def broken_key(event: AriEvent) -> str | None:
        raise KeyError("no key for you")

    async with fast_stream(ari, handler, key=broken_key) as events:
        ws = await fake_ari.next_socket()
        await eventually(lambda: events.connected)
        await ws.send_str("not json")
        await ws.send_str('["no", "type"]')
        await fake_ari.send(ws, dtmf("c1", 1))
        await eventually(lambda: handled == ["ChannelDtmfReceived"])
        stats = events.stats

    assert (stats.received, stats.dispatched, stats.connects) == (1, 1, 1)
    assert "not JSON" in caplog.text
    assert "without a type" in caplog.text
    assert "event key failed" in caplog.text
