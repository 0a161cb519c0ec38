"""A split deployment's wire: the web process's ContactCenter calls cross loopback HTTP to the
Stasis process and come back as the same values, errors included; bus events are relayed.

Behind the server sits the web tests' in-memory ContactCenter: this tests the wire, not the
telephony (tests/e2e/test_live_call.py covers that)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from polling import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from center_fake import MemoryContactCenter

from pbx_stasis.acd.model import (
    AgentState,
    EscalationStep,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    Strategy,
)
from pbx_stasis.acd.service import ACD_SERVICE, AcdControl
from pbx_stasis.acd.topics import AGENT_STATE, AgentStateChanged
from pbx_stasis.bus import Bus
from pbx_stasis.center.service import AgentProfile, SettableState
from pbx_stasis.ivr.errors import FlowSetInvalid
from pbx_stasis.ivr.service import FLOW_SERVICE
from pbx_stasis.plugins import INTERFACES, TOPICS
from pbx_stasis.remote.client import Address, proxy, relay_events
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode

SENT = AgentStateChanged(7, "bob", AgentState.AVAILABLE, datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
                         calls_today=2, registered=True, queues=("sales", "support"))

SECRET = "s3cret-for-tests"


@pytest.fixture
async def wire() -> AsyncIterator[tuple[MemoryContactCenter, AcdControl, Bus, str]]:
    bus = Bus()
    center = MemoryContactCenter(bus)
    center.add_agent(1, 7, "Alice")
    server = TestServer(rpc_app(bus, SECRET, INTERFACES,
                                [Offered(ACD_SERVICE, center), Offered(FLOW_SERVICE, center)],
                                TOPICS))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url(""))
        yield center, proxy(ACD_SERVICE, url, SECRET, session), bus, url
    await server.close()


async def test_values_cross_intact(wire: tuple[MemoryContactCenter, AcdControl, Bus,
                                               str]) -> None:
    center, remote, _, _ = wire
    assert await remote.agent_status(1, 7) == await center.agent_status(1, 7)
    view = await remote.set_agent_state(1, 7, SettableState.PAUSED, "lunch")
    assert view.state is AgentState.PAUSED and view.reason == "lunch"
    queue = QueueConfig(name="sales", strategy=Strategy.ROUND_ROBIN, max_wait=60.0,
                        overflow=OverflowTarget(OverflowKind.QUEUE, "support"),
                        escalation=(EscalationStep(after=30, relax=1),))
    assert await remote.create_queue(1, queue) == queue
    assert await remote.queues(1) == [queue]
    profile = await remote.update_agent_profile(1, 7, AgentProfile({"english": 5}, ("sales",)))
    assert profile == await center.agent_profile(1, 7)
    call = center.add_call(1, agent_user_id=7)
    assert await remote.live_calls(1) == await center.live_calls(1)
    await remote.hold(1, call.call_id)
    assert (await remote.live_calls(1))[0].held


async def test_errors_cross_as_the_same_errors(
    wire: tuple[MemoryContactCenter, AcdControl, Bus, str]
) -> None:
    _, remote, _, url = wire
    with pytest.raises(ServiceError) as missing:
        await remote.agent_status(2, 7)  # another tenant's agent
    assert missing.value.code is ServiceErrorCode.NOT_FOUND
    async with aiohttp.ClientSession() as session:
        flows = proxy(FLOW_SERVICE, url, SECRET, session)
        with pytest.raises(FlowSetInvalid) as invalid:  # carried with its problems
            await flows.apply_flow(1, "support", "flows: [", 7)
    assert invalid.value.problems and invalid.value.problems[0].pos.line >= 1


async def test_a_wrong_secret_is_refused(
    wire: tuple[MemoryContactCenter, AcdControl, Bus, str]
) -> None:
    _, _, _, url = wire
    async with aiohttp.ClientSession() as session:
        intruder = proxy(ACD_SERVICE, url, "guess", session)
        with pytest.raises(ServiceError) as refused:
            await intruder.agents(1)
    assert refused.value.code is ServiceErrorCode.UNAVAILABLE and "403" in refused.value.message


async def test_bus_events_are_relayed(
    wire: tuple[MemoryContactCenter, AcdControl, Bus, str]
) -> None:
    _, _, stasis_bus, url = wire
    web_bus = Bus()
    seen = web_bus.subscribe(["agent:*"])
    async with aiohttp.ClientSession() as session:
        relay = asyncio.create_task(relay_events(url, SECRET, web_bus, session, TOPICS))
        try:
            def relayed() -> object:  # published again until the relay's subscription is in place
                stasis_bus.publish(AGENT_STATE, 1, SENT)
                return seen.get_nowait()

            event = await eventually(relayed)
        finally:
            relay.cancel()
    assert event.topic == "agent:state" and event.payload.user_id == 7
    assert event.payload == SENT  # the very object: its class, datetimes, enums and tuples


async def test_the_relay_and_the_proxies_follow_the_controller_when_it_moves() -> None:
    """A takeover: the address moves to another Stasis process; the relay leaves the old one
    at once (it may still be up) and the proxies' calls go to the new one."""
    buses = [Bus(), Bus()]
    centers = [MemoryContactCenter(bus) for bus in buses]
    for center in centers:
        center.add_agent(1, 7, "Alice")
    servers = [TestServer(rpc_app(bus, SECRET, INTERFACES, [Offered(ACD_SERVICE, center)],
                                  TOPICS)) for bus, center in zip(buses, centers, strict=True)]
    for server in servers:
        await server.start_server()
    web_bus = Bus()
    seen = web_bus.subscribe(["agent:*"])
    address = Address(str(servers[0].make_url("")))
    try:
        async with aiohttp.ClientSession() as session:
            remote = proxy(ACD_SERVICE, address, SECRET, session)
            relay = asyncio.create_task(relay_events(address, SECRET, web_bus, session, TOPICS))
            try:
                def relayed_from(bus: Bus) -> object:
                    bus.publish(AGENT_STATE, 1, SENT)
                    return seen.get_nowait()

                await eventually(lambda: relayed_from(buses[0]))
                await remote.set_agent_state(1, 7, SettableState.PAUSED, "lunch")
                address.move(str(servers[1].make_url("")))
                await eventually(lambda: relayed_from(buses[1]), within=2)
                await remote.set_agent_state(1, 7, SettableState.PAUSED, "break")
                await asyncio.sleep(0.1)
                while seen.get_nowait() is not None:  # what the new one published
                    pass
                buses[0].publish(AGENT_STATE, 1, SENT)  # the old one is not listened to
                await asyncio.sleep(0.1)
                assert seen.get_nowait() is None
                assert not buses[0].listened(AGENT_STATE, 1)
            finally:
                relay.cancel()
        assert (await centers[0].agent_status(1, 7)).reason == "lunch"
        assert (await centers[1].agent_status(1, 7)).reason == "break"
    finally:
        for server in servers:
            await server.close()
