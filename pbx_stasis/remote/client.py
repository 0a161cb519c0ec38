"""The web process's stand-ins for the Stasis process's services: `proxy(interface, ...)` makes
one from the interface's protocol (a method per protocol method, none written by hand), every
call goes to the Stasis process over loopback HTTP (`Remote._call`, the one forwarding
mechanism), and the Stasis process's bus events are relayed into the web process's bus."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar, TypeVar, cast

import aiohttp

from pbx_stasis.bus import Bus, EventTopic
from pbx_stasis.remote.codec import decode, methods, signature
from pbx_stasis.remote.interfaces import Interface
from pbx_stasis.remote.server import SECRET_HEADER

P = TypeVar("P")
log = logging.getLogger(__name__)


class Address:
    """Where the Stasis process serves the web process: a fixed URL, or one that moves when
    another controller takes the role over (`move`, fed from the role's lease)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._moved = asyncio.Event()

    def move(self, url: str) -> None:
        url = url.rstrip("/")
        if url != self.url:
            log.info("the telephony process is now at %s (was %s)", url, self.url)
            self.url = url
            self._moved.set()
            self._moved = asyncio.Event()

    async def moved(self) -> None:
        """Until the address moves."""
        await self._moved.wait()


def _address(where: Address | str) -> Address:
    return where if isinstance(where, Address) else Address(where)


class Remote:
    """Calls `interface`'s methods on `pbx run --part stasis` (the base of the generated
    proxies). The Stasis side's errors come back as the same exception (type, code, message);
    when it cannot be reached or does not answer properly, the interface's error with code
    unavailable (503 in the routes)."""

    interface: ClassVar[Interface[Any]]

    def __init__(self, where: Address | str, secret: str,
                 session: aiohttp.ClientSession) -> None:
        self.address = _address(where)
        self._headers = {SECRET_HEADER: secret}
        self._session = session

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        interface = self.interface
        wire = signature(interface.protocol, method)
        body = wire.body(*args, **kwargs)
        url = self.address.url
        try:
            async with self._session.post(
                f"{url}/rpc/{interface.name}/{method}", json=body, headers=self._headers
            ) as response:
                if response.status != 200:
                    reason = (await response.text())[:200]
                    raise interface.unavailable(
                        f"the telephony process answered {response.status}: {reason}"
                    )
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise interface.unavailable(
                f"the telephony process is not reachable ({url}): {exc}"
            ) from exc
        if "error" in data:
            error = data["error"]
            raise interface.rebuild(error["code"], error["message"], error.get("field"))
        if "carried" in data:
            carried = data["carried"]
            for kind in interface.carried:
                if kind.error.__name__ == carried["error"]:
                    raise kind.error(decode(kind.values, carried["values"]))
            raise interface.unavailable(f"the telephony process raised {carried['error']}")
        return decode(wire.returns, data["result"])


@functools.cache
def proxy_class(interface: Interface[Any]) -> type[Remote]:
    """A Remote with one method per public method of the interface's protocol, each forwarding
    its call (the protocol's signature, name and docstring; arguments checked against them)."""
    protocol = interface.protocol
    namespace: dict[str, Any] = {
        "interface": interface,
        "__doc__": f"{protocol.__name__} of `pbx run --part stasis` (generated).",
    }
    for name in methods(protocol):
        namespace[name] = _forwarding(protocol, name)
    return type(f"Remote{protocol.__name__}", (Remote,), namespace)


def proxy(interface: Interface[P], where: Address | str, secret: str,
          session: aiohttp.ClientSession) -> P:
    """The Stasis process's implementation of `interface`, as the web process calls it."""
    return cast(P, proxy_class(interface)(where, secret, session))


def _forwarding(protocol: Any, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def forward(self: Remote, *args: Any, **kwargs: Any) -> Any:
        return await self._call(name, *args, **kwargs)

    functools.update_wrapper(forward, getattr(protocol, name))
    forward.__qualname__ = f"Remote{protocol.__name__}.{name}"
    return forward


def _republish(bus: Bus, topics: Mapping[str, EventTopic[Any]], message: dict[str, Any]) -> None:
    """One relayed event, rebuilt as its topic's dataclass and published here."""
    topic = topics.get(message["topic"])
    try:
        if topic is None:
            raise ValueError("unknown topic")
        event = topic.decode(message["kind"], message["payload"])
    except ValueError as exc:  # a newer Stasis process: drop that event, keep the others
        log.warning("relayed %s event dropped: %s", message["topic"], exc)
        return
    bus.publish(topic, message["tenant_id"], event)


async def relay_events(where: Address | str, secret: str, bus: Bus,
                       session: aiohttp.ClientSession,
                       topics: Mapping[str, EventTopic[Any]]) -> None:
    """Republish the Stasis process's bus events of `topics` here (the plugins' topics: the
    ones the web process forwards), reconnecting with backoff forever, and at once when the
    address moves (another controller took the role)."""
    address = _address(where)
    failures = 0
    while True:
        url = address.url
        try:
            async with session.ws_connect(
                f"{url.rstrip('/')}/events", headers={SECRET_HEADER: secret}, heartbeat=10
            ) as ws:
                failures = 0
                log.info("relaying telephony events from %s", url)
                reading = asyncio.ensure_future(_read(ws, bus, topics))
                moving = asyncio.ensure_future(address.moved())
                try:  # a controller that lost the role may still be up: leave it
                    await asyncio.wait({reading, moving}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    moving.cancel()
                    reading.cancel()
                if reading.done() and not reading.cancelled():
                    reading.result()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("telephony events from %s: %s", url, exc)
        failures += 1
        if address.url != url:
            continue
        delay = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(address.moved(), delay)


async def _read(ws: aiohttp.ClientWebSocketResponse, bus: Bus,
                topics: Mapping[str, EventTopic[Any]]) -> None:
    async for message in ws:
        if message.type is aiohttp.WSMsgType.TEXT:
            _republish(bus, topics, json.loads(message.data))


def stasis_ready(where: Address | str, session: aiohttp.ClientSession) -> Callable[
        [], Coroutine[Any, Any, str | None]]:
    """The web process's readiness check of the Stasis process: its /readyz on the RPC
    address (None when it answers ready, else what it says is missing)."""

    address = _address(where)

    async def check() -> str | None:
        try:
            async with session.get(address.url + "/readyz") as answer:
                if answer.status == 200:
                    return None
                body = await answer.json(content_type=None)
                reasons = body.get("reasons") if isinstance(body, dict) else None
                return "; ".join(map(str, reasons)) if reasons else f"HTTP {answer.status}"
        except (aiohttp.ClientError, ValueError):
            return "unreachable"

    return check
