"""The feed's fan-out: an event's frame written to every socket's transport from one callback a
loop turn, not from a task per socket woken for every event (scripts/bench-feed: 500 wallboards
at 20 events/s were 10,000 task wake-ups and aiohttp sends a second, ~29 µs each).

Each socket keeps its own bus subscription (its topics and tenant, the bus's filter) and its own
rendering (who may see the event, a masked viewer's frame), as the feed decides; here only the
writing. A socket whose transport buffer is past its high-water mark (a browser that reads
slowly) is skipped: its events wait in its subscription, bounded (the oldest dropped, counted
and told as "lagged"), and a pump of its own writes them once the buffer drained. So a slow
socket delays nobody else and holds at most its transport's buffer and its subscription."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from pbx_stasis.bus import BusEvent, Subscription

log = logging.getLogger(__name__)

# Sockets written a loop turn: 500 sockets' sends are a few ms; calls' events run in between.
BATCH = 128
FIN_TEXT = 0x81  # RFC 6455 5.2: final fragment, opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """A server's WebSocket text frame (unmasked, uncompressed: the feed refuses
    permessage-deflate), the same bytes for every socket that sends it."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", FIN_TEXT, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", FIN_TEXT, 126, size)
    else:
        header = struct.pack("!BBQ", FIN_TEXT, 127, size)
    return header + payload


class Transport(Protocol):
    """What the fan-out uses of an asyncio transport."""

    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...
    def get_write_buffer_limits(self) -> tuple[int, int]: ...


class Drain(Protocol):
    """The socket's stream writer: drain() returns once the transport takes data again."""

    async def drain(self) -> None: ...


# An event's frame for this socket, or None when its user may not see it.
Render = Callable[[BusEvent[Any]], bytes | None]


class Outlet:
    """One feed socket's sending side: its subscription's events written to its transport, in
    order, straight from the fan-out while the transport takes them, by its pump otherwise."""

    def __init__(self, fanout: Fanout, transport: Transport, writer: Drain,
                 lagged: Callable[[int], bytes], closed: Callable[[], bool]) -> None:
        self._fanout = fanout
        self._transport = transport
        self._writer = writer
        self._lagged = lagged
        self._closed = closed  # the socket sent its close frame: nothing may follow it
        self._high = transport.get_write_buffer_limits()[1]
        self._subscription: Subscription | None = None
        self._render: Render | None = None
        self._told = 0  # the drops the client was told about
        self._pump: asyncio.Task[None] | None = None
        self.queued = False  # in the fan-out's ready queue

    def follow(self, subscription: Subscription, render: Render) -> None:
        """Send this subscription's events from now on (a previous one's waiting are dropped)."""
        self.stop()
        self._subscription, self._render, self._told = subscription, render, 0

    def wake(self) -> None:
        """The subscription's notify: it has an event to send."""
        self._fanout.ready(self)

    def flush(self) -> None:
        if self._pump is not None or self._subscription is None:
            return  # the pump sends them once the buffer drained
        if not self._write_waiting():
            self._pump = asyncio.get_running_loop().create_task(self._drain())

    def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def _full(self) -> bool:
        return self._transport.get_write_buffer_size() > self._high

    def _write_waiting(self) -> bool:
        """Write the waiting events while the transport takes them: False if it filled first."""
        subscription, render, transport = self._subscription, self._render, self._transport
        if subscription is None or render is None:
            return True
        if self._full():
            return False
        while (event := subscription.get_nowait()) is not None:
            if transport.is_closing() or self._closed():
                continue  # the socket is going: its handler stops this outlet
            if subscription.dropped != self._told:
                transport.write(self._lagged(subscription.dropped - self._told))
                self._told = subscription.dropped
            data = render(event)
            if data is not None:
                transport.write(data)
                if self._full():
                    return False
        return True

    async def _drain(self) -> None:
        try:
            while not self._transport.is_closing():
                await self._writer.drain()
                if self._full():  # not paused, yet past high-water: let it go out
                    await asyncio.sleep(0.01)
                elif self._write_waiting():
                    return
        except ConnectionError:
            pass  # the socket is gone: its handler stops this outlet
        finally:
            if self._pump is asyncio.current_task():
                self._pump = None


class Fanout:
    """The outlets with events to send, flushed from one loop callback (BATCH a turn)."""

    def __init__(self) -> None:
        self._ready: deque[Outlet] = deque()
        self._scheduled = False

    def ready(self, outlet: Outlet) -> None:
        if outlet.queued:
            return
        outlet.queued = True
        self._ready.append(outlet)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        ready = self._ready
        for _ in range(min(BATCH, len(ready))):
            outlet = ready.popleft()
            outlet.queued = False
            try:
                outlet.flush()
            except Exception:  # one socket's failure must not stall the others' events
                log.exception("feed fan-out")
        if ready:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
