"""The fan-out's two pieces (scripts/bench-feed): a subscription is a bounded queue with one
waiter (the oldest dropped and counted when full, a waiting reader woken by the next offer), and
the feed encodes an event's frame once for every socket that sends it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from pbx_stasis.acd.topics import QUEUE_STATS, QueueStatsChanged
from pbx_stasis.bus import Bus
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
    text = frames.of(one)
    assert frames.of(one) is text  # the same string, not a new encoding
    sent = json.loads(text)
    assert (sent["type"], sent["topic"], sent["seq"]) == ("event", "queue:stats", one.seq)
    assert sent["payload"] == one.json()
    frames.of(two)
    frames.of(three)  # past its size: the oldest frame is let go, encoded again if asked
    assert frames.of(one) == text and frames.of(one) is not text
