"""Topic-based publish/subscribe with bounded queues so a slow subscriber never stalls calls.

A topic is an `EventTopic[E]`: its name ("call:state"), the frozen dataclass its events are, and
who may read it on the WebSocket feed, declared once by the feature that publishes it. The bus
carries the objects themselves; their JSON (the feed's payload, the relay's message) is made
only where it leaves the process."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import TypeAdapter

from pbx_stasis.store.tables import Role

E = TypeVar("E")

# A field's metadata that keeps it out of the feed's JSON: it is written to the journal (and
# relayed between processes) but the pages never read it.
JOURNAL_ONLY: Mapping[str, bool] = {"feed": False}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


class EventTopic(Generic[E]):
    """A bus topic and the frozen dataclass its events are (or a subclass of it: one class per
    state change, e.g. a call started or answered, sharing the topic's fields).

    `readers`: the roles the feed forwards it to (none: it stays on the bus); `own_key`: for an
    agent, the event's field that must hold their own user id (None: agents see every event)."""

    _named: ClassVar[dict[str, EventTopic[Any]]] = {}
    name: str
    event: type[E]
    readers: frozenset[Role]
    own_key: str | None

    def __init__(self, name: str, event: type[E], *, readers: frozenset[Role] = frozenset(),
                 own_key: str | None = None) -> None:
        params = getattr(event, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(f"{name}: {event.__name__} is not a frozen dataclass")
        known = EventTopic._named.get(name)
        if known is not None and known.event is not event:
            raise ValueError(f"topic {name} already carries {known.event.__name__}")
        fields = {spec.name for spec in dataclasses.fields(event)}  # type: ignore[arg-type]
        if own_key is not None and own_key not in fields:
            raise ValueError(f"{name}: {event.__name__} has no field {own_key}")
        self.name = name
        self.event = event
        self.readers = readers
        self.own_key = own_key
        EventTopic._named[name] = self

    def kinds(self) -> dict[str, type[E]]:
        """The topic's class and its subclasses, by name (how the relay tells them apart)."""
        found: dict[str, type[E]] = {}
        todo: list[type[E]] = [self.event]
        while todo:
            kind = todo.pop()
            found[kind.__name__] = kind
            todo.extend(kind.__subclasses__())
        return found

    @cached_property
    def _adapters(self) -> dict[str, TypeAdapter[E]]:
        return {name: TypeAdapter(kind) for name, kind in self.kinds().items()}

    def decode(self, kind: str, payload: Mapping[str, Any]) -> E:
        """An event back from `encode` (the relay): ValueError if it is no event of this topic."""
        adapter = self._adapters.get(kind)
        if adapter is None:
            raise ValueError(f"{self.name} carries no {kind}")
        return adapter.validate_python(payload)

    def __repr__(self) -> str:
        return f"EventTopic({self.name!r}, {self.event.__name__})"


def encode(event: object, *, everything: bool = False) -> dict[str, Any]:
    """An event as JSON-ready values (datetimes ISO 8601, enums by value): the feed's payload,
    without the journal-only fields unless `everything` (the relay carries them all)."""
    return {
        spec.name: _json(getattr(event, spec.name))
        for spec in dataclasses.fields(event)  # type: ignore[arg-type]
        if everything or spec.metadata.get("feed", True)
    }


@dataclass(frozen=True)
class BusEvent(Generic[E]):
    topic: str  # the EventTopic's name, e.g. "call:state", "agent:state", "queue:stats"
    tenant_id: int
    payload: E
    seq: int = 0
    at: float = field(default_factory=time.time)

    def json(self) -> dict[str, Any]:
        """The payload as the pages read it (web/feed.py sends it as is), encoded once for all
        the sockets that forward this event."""
        return self._encoded

    @cached_property
    def _encoded(self) -> dict[str, Any]:
        return encode(self.payload)


class Subscription:
    """One subscriber's queue; when it overflows the oldest events are dropped and counted,
    and the subscriber is told (``lagged``) so it can resync from the read models."""

    def __init__(self, bus: Bus, topics: frozenset[str], tenant_id: int | None, size: int,
                 notify: Callable[[], None] | None = None) -> None:
        if size < 1:
            raise ValueError("a subscription's queue holds at least one event")
        self._bus = bus
        self.topics = topics
        self.tenant_id = tenant_id
        # A deque and one waiter rather than an asyncio.Queue: one consumer per subscription,
        # and offer() runs once per subscriber for every event published (500 wallboards: 500
        # offers an event), so its cost is the fan-out's (scripts/bench-feed).
        self._events: deque[BusEvent[Any]] = deque()
        self._size = size
        self._waiter: asyncio.Future[None] | None = None
        # A reader that takes events with get_nowait() when told (the feed's fan-out: one
        # callback a loop turn for every socket, not a task per socket woken per event).
        self._notify = notify
        self.dropped = 0

    def wants(self, event: BusEvent[Any]) -> bool:
        return self.listens(event.topic, event.tenant_id)

    def listens(self, topic: str, tenant_id: int) -> bool:
        if self.tenant_id is not None and tenant_id != self.tenant_id:
            return False
        return topic in self.topics or topic.split(":", 1)[0] + ":*" in self.topics

    @property
    def pending(self) -> int:
        """Events waiting in this subscriber's queue."""
        return len(self._events)

    def offer(self, event: BusEvent[Any]) -> None:
        events = self._events
        if len(events) >= self._size:
            events.popleft()
            self.dropped += 1
        events.append(event)
        if self._notify is not None:
            self._notify()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> BusEvent[Any]:
        while not self._events:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def get_nowait(self) -> BusEvent[Any] | None:
        return self._events.popleft() if self._events else None

    def close(self) -> None:
        self._bus._subscriptions.discard(self)

    async def __aiter__(self) -> AsyncIterator[BusEvent[Any]]:
        while True:
            yield await self.get()


class Bus:
    """The one event bus of the process. Publishing never awaits."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._seq = itertools.count(1)

    def publish(self, topic: EventTopic[E], tenant_id: int, event: E) -> BusEvent[E]:
        """Hand `event` to every subscriber of its topic in its tenant (TypeError if it is not
        the topic's dataclass: a dict or another topic's event never reaches a page)."""
        if not isinstance(event, topic.event):
            raise TypeError(f"{topic.name} carries {topic.event.__name__}, "
                            f"not {type(event).__name__}")
        published = BusEvent(topic=topic.name, tenant_id=tenant_id, payload=event,
                             seq=next(self._seq))
        for subscription in list(self._subscriptions):
            if subscription.wants(published):
                subscription.offer(published)
        return published

    def listened(self, topic: EventTopic[Any], tenant_id: int) -> bool:
        """Whether anyone subscribes to `topic` in this tenant: a publisher may skip making an
        event that nobody reads (the ACD's views, after each of its decisions)."""
        return any(s.listens(topic.name, tenant_id) for s in self._subscriptions)

    def subscribe(
        self, topics: Iterable[str | EventTopic[Any]], tenant_id: int | None = None,
        size: int = 1000, notify: Callable[[], None] | None = None,
    ) -> Subscription:
        """Topics by object or name; "call:*" is every topic of a family. `notify`: called after
        each event queued (a reader without a task of its own: it then takes them with
        get_nowait)."""
        names = frozenset(t.name if isinstance(t, EventTopic) else t for t in topics)
        subscription = Subscription(self, names, tenant_id, size, notify)
        self._subscriptions.add(subscription)
        return subscription
