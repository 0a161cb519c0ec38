"""Fault injection on the app's ARI connection: a TCP proxy between the app and Asterisk's HTTP
port (ARI requests, the events WebSocket, the request sockets) that can cut or silence them.

    with AriProxy(sandbox.ari_url) as proxy:      # the app gets proxy.url as its ARI URL
        proxy.reset()                              # every connection reset (RST) at once
        proxy.silence(4.0)                         # nothing flows for 4 s, then old ones reset

`silence` is a black hole, not a close: both sides keep their sockets open and nothing crosses
(a client's ping, Asterisk's events, a close, an EOF), so neither side learns anything from
TCP; connections opened meanwhile are accepted and held. When the silence ends, the
connections from before are reset (as a peer that timed out would) and the held ones are
connected to Asterisk. Every fault is bounded in time; the proxy runs its own event loop in a
thread, so sync and async tests use it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.writers: list[asyncio.StreamWriter] = []
        self.dead = False
        self.gone = asyncio.Event()

    def reset(self) -> None:
        """Close both sides with a TCP RST (SO_LINGER 0), as a crashed or timed-out peer."""
        self.dead = True
        self.gone.set()
        for writer in self.writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


def _reset_all(links: list[_Link]) -> None:
    for link in links:
        link.reset()


class AriProxy:
    """Forwards 127.0.0.1:`port` to the ARI server of `ari_url` until close()."""

    def __init__(self, ari_url: str) -> None:
        target = urlsplit(ari_url)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 8088)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ari-proxy",
                                        daemon=True)
        self._links: set[_Link] = set()
        self._epoch = 0
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._refusing = False
        self.accepted = 0
        self._thread.start()
        self.port: int = self._call(self._start())

    @property
    def url(self) -> str:
        """The ARI URL the app should use (http://127.0.0.1:PORT)."""
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _start(self) -> int:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self.accepted += 1
        link = _Link(self._epoch)
        link.writers.append(writer)
        if self._refusing:
            link.reset()
            return
        self._links.add(link)
        try:
            await self._flowing.wait()  # opened during a silence: held until it ends
            if link.dead:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            except OSError:
                link.reset()
                return
            link.writers.append(up_writer)
            await asyncio.gather(self._pump(link, reader, up_writer),
                                 self._pump(link, up_reader, writer))
        finally:
            self._links.discard(link)
            for side in link.writers:
                side.transport.abort()

    async def _pump(self, link: _Link, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        while not link.dead:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            # During a silence nothing crosses, not even the end of the stream.
            await self._flowing.wait()
            if link.epoch < self._epoch:
                await link.gone.wait()  # from before a silence: silent until it is reset
            if link.dead:
                return
            if not data:
                link.reset()
                return
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                link.reset()
                return

    # -- faults ------------------------------------------------------------------------------

    def reset(self) -> int:
        """Reset every connection now; returns how many were cut."""

        async def cut() -> int:
            links = list(self._links)
            for link in links:
                link.reset()
            return len(links)

        return self._call(cut())

    def silence(self, seconds: float, *, old_linger: float = 0.0) -> None:
        """Start a silence of `seconds` (returns at once; bounded: it ends by itself).
        `old_linger`: the connections from before stay silent that much longer after new ones
        flow (Asterisk timing out its side of a dead socket after the app reconnected)."""
        if not 0 < seconds <= 60 or not 0 <= old_linger <= 60:
            raise ValueError("a silence lasts between 0 and 60 seconds")

        async def start() -> None:
            assert self._flowing is not None
            self._epoch += 1
            self._flowing.clear()
            self._loop.call_later(seconds, self._end_silence, old_linger)

        self._call(start())

    def cut(self, seconds: float) -> None:
        """Reset every connection, and every new one at once, for `seconds` (an outage that
        both sides see: Asterisk drops the app at once; bounded: it ends by itself)."""
        if not 0 < seconds <= 60:
            raise ValueError("a cut lasts between 0 and 60 seconds")

        async def start() -> None:
            self._refusing = True
            for link in list(self._links):
                link.reset()
            self._loop.call_later(seconds, setattr, self, "_refusing", False)

        self._call(start())

    def _end_silence(self, old_linger: float) -> None:
        assert self._flowing is not None
        old = [link for link in self._links if link.epoch < self._epoch]
        if old_linger:
            self._loop.call_later(old_linger, _reset_all, old)
        else:
            _reset_all(old)
        self._flowing.set()

    @property
    def silent(self) -> bool:
        return self._flowing is not None and not self._flowing.is_set()

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for link in list(self._links):
                link.reset()
            if self._flowing is not None:
                self._flowing.set()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> AriProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
