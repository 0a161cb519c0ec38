"""Topic-based publish/subscribe with bounded queues so a slow subscriber never stalls calls."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BusEvent:
    topic: str  # e.g. "call:state", "agent:state", "queue:stats"
    tenant_id: int
    payload: dict[str, Any]
    seq: int = 0
    at: float = field(default_factory=time.time)


class Subscription:
    """One subscriber's queue; when it overflows the oldest events are dropped and counted,
    and the subscriber is told (``lagged``) so it can resync from the read models."""

    def __init__(self, bus: Bus, topics: frozenset[str], tenant_id: int | None, size: int) -> None:
        self._bus = bus
        self.topics = topics
        self.tenant_id = tenant_id
        self._queue: asyncio.Queue[BusEvent] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def wants(self, event: BusEvent) -> bool:
        if self.tenant_id is not None and event.tenant_id != self.tenant_id:
            return False
        return event.topic in self.topics or event.topic.split(":", 1)[0] + ":*" in self.topics

    def offer(self, event: BusEvent) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> BusEvent:
        return await self._queue.get()

    def get_nowait(self) -> BusEvent | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._bus._subscriptions.discard(self)

    async def __aiter__(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self.get()


class Bus:
    """The one event bus of the process. Publishing never awaits."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._seq = itertools.count(1)

    def publish(self, topic: str, tenant_id: int, payload: dict[str, Any]) -> BusEvent:
        event = BusEvent(topic=topic, tenant_id=tenant_id, payload=payload, seq=next(self._seq))
        for subscription in list(self._subscriptions):
            if subscription.wants(event):
                subscription.offer(event)
        return event

    def subscribe(
        self, topics: Iterable[str], tenant_id: int | None = None, size: int = 1000
    ) -> Subscription:
        subscription = Subscription(self, frozenset(topics), tenant_id, size)
        self._subscriptions.add(subscription)
        return subscription
