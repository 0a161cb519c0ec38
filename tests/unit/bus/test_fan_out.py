"""The fan-out's pieces (scripts/bench-feed): a subscription is a bounded queue with one waiter
(the oldest dropped and counted when full, a waiting reader woken by the next offer); the feed
encodes an event's frame once for every socket that sends it; and the fan-out writes it to every
socket's transport from one callback, a slow socket's events waiting for its own pump."""

from __future__ import annotations

import asyncio
import json
import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from pbx_stasis.acd.topics import QUEUE_STATS, QueueStatsChanged
from pbx_stasis.bus import Bus, BusEvent
from pbx_stasis.web.fanout import BATCH, Fanout, Outlet, text_frame
from pbx_stasis.web.feed import Frames


def stats(n: int) -> QueueStatsChanged:
    return QueueStatsChanged("support", n, datetime(2026, 12, 2, tzinfo=UTC), 3, 1, n, n, 0, n,
                             60.0 * n)


async def test_a_full_subscription_drops_the_oldest_and_wakes_its_reader() -> None:
    bus = Bus()
    sub = bus.subscribe([QUEUE_STATS], tenant_id=1, size=2)
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)  # the reader waits
    first = bus.publish(QUEUE_STATS, 1, stats(1))
    assert await asyncio.wait_for(reader, 1) is first
    bus.publish(QUEUE_STATS, 2, stats(99))  # another tenant's: not this subscriber's
    events = [bus.publish(QUEUE_STATS, 1, stats(n)) for n in (2, 3, 4)]
    assert (sub.pending, sub.dropped) == (2, 1)
    assert [sub.get_nowait(), sub.get_nowait(), sub.get_nowait()] == [*events[1:], None]
    # A reader cancelled while waiting leaves nothing behind: the next one gets the next event.
    cancelled = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    fifth = bus.publish(QUEUE_STATS, 1, stats(5))
    assert await sub.get() is fifth
    with pytest.raises(ValueError):
        bus.subscribe([QUEUE_STATS], size=0)


def test_a_frame_is_encoded_once_for_every_socket() -> None:
    bus, frames = Bus(), Frames(size=2)
    one, two, three = (bus.publish(QUEUE_STATS, 1, stats(n)) for n in (1, 2, 3))
    data = frames.of(one)
    assert frames.of(one) is data  # the same bytes, not a new encoding
    sent = unframe(data)
    assert (sent["type"], sent["topic"], sent["seq"]) == ("event", "queue:stats", one.seq)
    assert sent["payload"] == one.json()
    frames.of(two)
    frames.of(three)  # past its size: the oldest frame is let go, encoded again if asked
    assert frames.of(one) == data and frames.of(one) is not data


def unframe(data: bytes) -> Any:
    """A server's text frame back to its JSON (RFC 6455 5.2), checking its header."""
    first, second = data[0], data[1]
    assert first == 0x81 and second & 0x80 == 0  # final text frame, unmasked
    size, start = second & 0x7F, 2
    if size == 126:
        (size,), start = struct.unpack("!H", data[2:4]), 4
    elif size == 127:
        (size,), start = struct.unpack("!Q", data[2:10]), 10
    assert len(data) == start + size
    return json.loads(data[start:])


def test_a_text_frame_has_the_length_the_payload_needs() -> None:
    for size, header in ((0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)):
        payload = json.dumps("x" * max(0, size - 2)).encode() if size else b""
        data = text_frame(payload)
        assert len(data) == header + len(payload)
        if size:
            assert unframe(data) == "x" * (size - 2)


# ---------------------------------------------------------------------------------------------
# the fan-out, on transports that buffer what a stalled reader does not take


class Wire:
    """A socket's transport as the fan-out sees it: `stalled`, what it is written stays
    buffered (a browser not reading); drain() returns once it is read again."""

    def __init__(self, high: int = 10_000) -> None:
        self.frames: list[Any] = []
        self.buffered = 0
        self.high = high
        self.stalled = False
        self.closing = False
        self._read = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.frames.append(unframe(data))
        if self.stalled:
            self.buffered += len(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 0, self.high

    async def drain(self) -> None:
        while self.buffered > self.high:
            self._read.clear()
            await self._read.wait()

    def read(self) -> None:
        """The browser reads everything: the buffer empties."""
        self.stalled, self.buffered = False, 0
        self._read.set()

    def seqs(self) -> list[Any]:
        return [f["seq"] if f["type"] == "event" else ("lagged", f["dropped"])
                for f in self.frames]


def lagged(dropped: int) -> bytes:
    return text_frame(json.dumps({"type": "lagged", "dropped": dropped}).encode())


def socket(bus: Bus, fanout: Fanout, wire: Wire, *, tenant_id: int = 1, size: int = 1000,
           sees: Any = lambda event: True) -> Outlet:
    """An outlet following queue:stats in a tenant, rendering what `sees` lets through."""
    frames = Frames()
    outlet = Outlet(fanout, wire, wire, lagged=lagged, closed=lambda: False)

    def render(event: BusEvent[Any]) -> bytes | None:
        return frames.of(event) if sees(event) else None

    outlet.follow(bus.subscribe([QUEUE_STATS], tenant_id=tenant_id, size=size,
                                notify=outlet.wake), render)
    return outlet


async def turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_every_socket_gets_every_event_in_order_without_a_task_of_its_own() -> None:
    bus, fanout = Bus(), Fanout()
    wires = [Wire() for _ in range(BATCH * 2 + 5)]  # more than one callback's batch
    for wire in wires:
        socket(bus, fanout, wire)
    tasks = len(asyncio.all_tasks())
    events = [bus.publish(QUEUE_STATS, 1, stats(n)).seq for n in range(5)]
    assert all(wire.frames == [] for wire in wires)  # publish only queues: it never writes
    await turns()
    assert len(asyncio.all_tasks()) == tasks
    assert all(wire.seqs() == events for wire in wires)


async def test_the_filters_stay_the_sockets_own() -> None:
    """The bus filters topics and tenant, the feed's render the user: nothing else changed."""
    bus, fanout = Bus(), Fanout()
    mine, other_tenant, only_even = Wire(), Wire(), Wire()
    socket(bus, fanout, mine)
    socket(bus, fanout, other_tenant, tenant_id=2)
    socket(bus, fanout, only_even, sees=lambda event: event.payload.waiting % 2 == 0)
    events = [bus.publish(QUEUE_STATS, 1, stats(n)) for n in range(4)]
    theirs = bus.publish(QUEUE_STATS, 2, stats(9))
    await turns()
    assert mine.seqs() == [event.seq for event in events]
    assert only_even.seqs() == [events[0].seq, events[2].seq]
    assert other_tenant.seqs() == [theirs.seq]


async def test_a_slow_socket_delays_nobody_and_catches_up_in_order() -> None:
    bus, fanout = Bus(), Fanout()
    slow, fast = Wire(high=100), Wire()
    slow.stalled = True
    socket(bus, fanout, slow)
    socket(bus, fanout, fast)
    first = bus.publish(QUEUE_STATS, 1, stats(0)).seq
    await turns()  # the first frame fills the slow socket's buffer past its high-water mark
    later = [bus.publish(QUEUE_STATS, 1, stats(n)).seq for n in range(1, 5)]
    await turns()
    assert fast.seqs() == [first, *later]  # at once, the slow one notwithstanding
    assert slow.seqs() == [first]
    slow.read()
    await turns()
    assert slow.seqs() == [first, *later]


async def test_a_socket_that_falls_too_far_behind_is_told_to_resync() -> None:
    """As before: its subscription keeps the newest `size`, drops and counts the rest, and the
    client gets {"type": "lagged", "dropped": n} before the next event it is sent."""
    bus, fanout = Bus(), Fanout()
    slow, fast = Wire(high=100), Wire()
    slow.stalled = True
    socket(bus, fanout, slow, size=3)
    socket(bus, fanout, fast, size=3)
    seqs = []
    for n in range(10):
        seqs.append(bus.publish(QUEUE_STATS, 1, stats(n)).seq)
        await turns()  # the fast socket is written every turn: it never overflows
    assert fast.seqs() == seqs
    assert slow.seqs() == seqs[:1]
    slow.read()
    await turns()
    assert slow.seqs() == [seqs[0], ("lagged", 6), *seqs[-3:]]
    seqs.append(bus.publish(QUEUE_STATS, 1, stats(10)).seq)  # and straight again from now on
    await turns()
    assert slow.seqs()[-1] == seqs[-1]


async def test_a_closing_socket_is_written_nothing_and_its_stop_ends_its_pump() -> None:
    bus, fanout = Bus(), Fanout()
    closing, stalled = Wire(), Wire(high=100)
    closing.closing, stalled.stalled = True, True
    gone = socket(bus, fanout, closing)
    outlet = socket(bus, fanout, stalled)
    for n in range(3):
        bus.publish(QUEUE_STATS, 1, stats(n))
    await turns()
    assert closing.frames == [] and len(stalled.frames) == 1
    tasks = len(asyncio.all_tasks())
    outlet.stop()  # the socket's handler ends: its subscription and its pump go
    await turns()
    assert len(asyncio.all_tasks()) == tasks - 1
    gone.stop()
    assert not bus.listened(QUEUE_STATS, 1)
