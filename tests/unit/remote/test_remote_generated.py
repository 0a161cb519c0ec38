"""The web process's proxies are generated from the service interfaces: every method a protocol
declares is forwarded with the protocol's own signature, and a method added to an interface (or
a new interface) crosses the wire with no code written in pbx_stasis.remote."""

from __future__ import annotations

import enum
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from pbx_stasis.acd.service import ACD_SERVICE
from pbx_stasis.bus import Bus
from pbx_stasis.center.live import LiveContactCenter
from pbx_stasis.ivr.service import FLOW_SERVICE
from pbx_stasis.plugins import INTERFACES, TOPICS
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.recording.service import RECORDING_SERVICE
from pbx_stasis.remote.client import Remote, proxy, proxy_class
from pbx_stasis.remote.codec import methods
from pbx_stasis.remote.interfaces import Interface, Offered
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.store import StoreUnavailable
from pbx_stasis.supervision.service import SUPERVISION_SERVICE, Supervision

SECRET = "s3cret-for-tests"
SINCE = datetime(2026, 5, 4, 10, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize("interface", INTERFACES, ids=[i.name for i in INTERFACES])
def test_every_method_of_an_interface_is_forwarded_as_declared(interface: Interface[object]
                                                               ) -> None:
    made = proxy_class(interface)
    assert issubclass(made, Remote) and made.interface is interface
    declared = methods(interface.protocol)
    assert declared and sorted(declared) == sorted(
        n for n, f in vars(made).items() if inspect.iscoroutinefunction(f))
    for method in declared:
        assert inspect.signature(getattr(made, method)) == inspect.signature(
            getattr(interface.protocol, method)), method
        assert getattr(made, method).__doc__ == getattr(interface.protocol, method).__doc__


def _shape(function: object) -> list[tuple[str, object, object]]:
    """A signature without its annotations: names, kinds, defaults."""
    assert callable(function)
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("interface", "service"), [
    (ACD_SERVICE, LiveContactCenter), (FLOW_SERVICE, LiveContactCenter),
    (SUPERVISION_SERVICE, Supervision), (RECORDING_SERVICE, CallRecorder),
], ids=["acd", "flows", "supervision", "recording"])
def test_each_service_implements_its_interface_itself(
    interface: Interface[object], service: type
) -> None:
    """No adapter between the routes and the Stasis process's own services: the object the
    routes are handed in one process is the one served to a web process of its own."""
    for method in methods(interface.protocol):
        implemented = getattr(service, method, None)
        assert inspect.iscoroutinefunction(implemented), f"{service.__name__}.{method}"
        assert _shape(implemented) == _shape(getattr(interface.protocol, method)), method


class Tone(enum.StrEnum):
    WARM = "warm"
    DRY = "dry"


@dataclass(frozen=True)
class Greeting:
    text: str
    tone: Tone
    at: datetime


class GreeterRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Greeter(Protocol):
    """A service interface no remote code knows of."""

    async def greet(self, name: str, *, times: int = 1, tone: Tone = Tone.WARM
                    ) -> list[Greeting]: ...

    async def last(self, name: str) -> Greeting | None: ...


class Desk:
    """Greeter's implementation, as a feature's service would be."""

    def __init__(self) -> None:
        self.greeted: dict[str, Greeting] = {}

    async def greet(self, name: str, *, times: int = 1, tone: Tone = Tone.WARM
                    ) -> list[Greeting]:
        if not name:
            raise GreeterRefused("invalid", "whom to greet?")
        self.greeted[name] = Greeting(f"hello {name}", tone, SINCE)
        return [self.greeted[name]] * times

    async def last(self, name: str) -> Greeting | None:
        if name == "during-an-outage":
            raise StoreUnavailable("database error on postgresql://db.internal/pbx: refused")
        return self.greeted.get(name)


GREETER: Interface[Greeter] = Interface(
    "greeter", Greeter, GreeterRefused, lambda code, message, field: GreeterRefused(code, message))


@pytest.fixture
async def greeter() -> AsyncIterator[Greeter]:
    server = TestServer(rpc_app(Bus(), SECRET, [GREETER], [Offered(GREETER, Desk())], TOPICS))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield proxy(GREETER, str(server.make_url("")), SECRET, session)
    await server.close()


async def test_a_new_interface_crosses_with_no_remote_code(greeter: Greeter) -> None:
    assert await greeter.last("ada") is None
    greetings = await greeter.greet("ada", times=2, tone=Tone.DRY)
    assert greetings == [Greeting("hello ada", Tone.DRY, SINCE)] * 2
    assert await greeter.last("ada") == Greeting("hello ada", Tone.DRY, SINCE)
    with pytest.raises(GreeterRefused) as refused:
        await greeter.greet("")
    assert (refused.value.code, refused.value.message) == ("invalid", "whom to greet?")


async def test_a_call_that_does_not_fit_the_interface_is_refused_before_sending(
    greeter: Greeter,
) -> None:
    with pytest.raises(TypeError):
        await greeter.greet("ada", 2)  # type: ignore[misc]  # times is keyword-only
    with pytest.raises(TypeError):
        await greeter.last()  # type: ignore[call-arg]


async def test_a_database_outage_crosses_as_unavailable(greeter: Greeter) -> None:
    """The Stasis process's database is out: the web process gets `unavailable` (its 503), with
    a message that names no database."""
    with pytest.raises(GreeterRefused) as refused:
        await greeter.last("during-an-outage")
    assert refused.value.code == "unavailable"
    assert "database cannot be reached" in refused.value.message
    assert "db.internal" not in refused.value.message
