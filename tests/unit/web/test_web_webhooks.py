"""Webhooks through the real web app and a real receiver (aiohttp on loopback): a signed
delivery, retries with backoff then a pause, a replay, the schedule resumed after a restart, and
urls refused."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from polling import eventually
from prometheus_client import REGISTRY
from web_world import World, build_world, close_world, served

from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import CALL_ENDED, CallEnded
from pbx_stasis.config import Settings, WebhookSettings
from pbx_stasis.plugins import web_app
from pbx_stasis.recording.store import RecordingStore
from pbx_stasis.recording.tables import RecordingKind
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Direction, Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.webhooks.core import verify
from pbx_stasis.webhooks.events import BY_NAME
from pbx_stasis.webhooks.service import WEBHOOKS, Dispatcher

FIRST_RETRY = 0.2


@dataclass
class Receiver:
    """An HTTP endpoint that records each POST (arrival, headers, raw body) and answers
    `status`."""

    status: int = 200
    got: list[tuple[float, dict[str, str], bytes]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((time.monotonic(), dict(request.headers), await request.read()))
        return web.Response(status=self.status, text="nope" if self.status >= 400 else "ok")

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hook"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with served("POST", "/hook", found.handle) as found.server:
        yield found


@pytest.fixture
async def hooked(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[World]:
    """A world whose webhooks may reach loopback (the receiver) and retry within a second."""
    built = await build_world(sqlite_template, tmp_path, webhooks=WebhookSettings(
        internal_urls=True, first_retry=FIRST_RETRY, retry_for=2.0))
    try:
        yield built
    finally:
        await close_world(built)


def call_ended(call_id: str) -> CallEnded:
    now = datetime.now(UTC)
    return CallEnded(call_id=call_id, direction=Direction.INBOUND, from_number="+15550100",
                     to_number="+15550001", state="ended", started_at=now, cause=16,
                     by="caller", ended_at=now)


async def subscribe(world: World, url: str, events: list[str], tenant: str = "acme"
                    ) -> dict[str, Any]:
    admin = await world.log_in(world.person(tenant, Role.ADMIN))
    response = await world.request(admin, "POST", "/api/webhooks", {"url": url, "events": events})
    assert response.status == 201, await response.text()
    made: dict[str, Any] = await response.json()
    # The dispatcher reads subscriptions as they change: wait until it listens.
    topic = BY_NAME[events[0]].topic
    await eventually(lambda: world.bus.listened(topic, world.tenant_ids[tenant]), within=5)
    return made


async def deliveries(world: World, hook_id: int) -> list[dict[str, Any]]:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "GET", f"/api/webhooks/{hook_id}/deliveries")
    assert response.status == 200
    found: list[dict[str, Any]] = (await response.json())["deliveries"]
    return found


async def test_a_call_event_arrives_signed_once_per_subscriber(
        hooked: World, receiver: Receiver) -> None:
    world = hooked
    hook = await subscribe(world, receiver.url, ["call.ended"])
    assert hook["secret"].startswith("whsec_")
    world.bus.publish(CALL_ENDED, world.tenant_ids["globex"], call_ended("globex-call"))
    world.bus.publish(CALL_ENDED, world.tenant_ids["acme"], call_ended("acme-call"))
    await eventually(lambda: receiver.got, until=bool, within=10)
    [(_, headers, body)] = receiver.got
    assert verify(hook["secret"], headers["X-Pbx-Signature"], body, int(time.time()))
    assert not verify("whsec_other", headers["X-Pbx-Signature"], body, int(time.time()))
    sent = json.loads(body)
    assert (sent["type"], sent["data"]["call_id"]) == ("call.ended", "acme-call")
    assert headers["X-Pbx-Delivery"] == sent["id"]
    assert headers["X-Pbx-Event"] == "call.ended"
    assert headers["Content-Type"] == "application/json"
    [logged] = await eventually(lambda: deliveries(world, hook["id"]),
                                until=lambda rows: rows and rows[0]["status"] == "delivered")
    assert (logged["id"], logged["response_code"], logged["attempts"]) == (sent["id"], 200, 1)
    assert logged["duration_ms"] is not None and logged["next_try_at"] is None
    # The web app's /metrics shows the delivery queue, empty now.
    metrics = await (await world.client.get("/metrics")).text()
    assert 'pbx_webhook_queue_depth{stage="events"} 0.0' in metrics
    assert 'pbx_webhook_queue_depth{stage="posting"} 0.0' in metrics
    assert "pbx_webhook_delivery_lag_seconds_count" in metrics

    # Replay: the same event again (same id), signed anew.
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    replay = await world.request(
        admin, "POST", f"/api/webhooks/{hook['id']}/deliveries/{sent['id']}/replay")
    assert replay.status == 200, await replay.text()
    await eventually(lambda: len(receiver.got), until=lambda n: n == 2, within=10)
    _, again, body_again = receiver.got[1]
    assert again["X-Pbx-Delivery"] == sent["id"] and body_again == body
    assert verify(hook["secret"], again["X-Pbx-Signature"], body_again, int(time.time()))


async def test_a_failing_receiver_gets_retries_with_backoff_then_the_webhook_pauses(
        hooked: World, receiver: Receiver) -> None:
    world = hooked
    receiver.status = 500

    def failed() -> float:  # /metrics' count of failed attempts (the process's)
        return REGISTRY.get_sample_value("pbx_webhook_attempts_total",
                                         {"outcome": "failed"}) or 0.0

    before = failed()
    hook = await subscribe(world, receiver.url, ["call.ended"])
    world.bus.publish(CALL_ENDED, world.tenant_ids["acme"], call_ended("failing"))
    await eventually(lambda: len(receiver.got), until=lambda n: n >= 4, within=15)
    await eventually(failed, until=lambda n: n - before >= 3, within=5)
    arrivals = [at for at, _, _ in receiver.got]
    ids = {headers["X-Pbx-Delivery"] for _, headers, _ in receiver.got}
    assert len(ids) == 1  # retries of one event, never a new one
    # Each wait at least the schedule's (0.2 s, 0.4 s, 0.8 s): never early.
    for n, (before, after) in enumerate(itertools.pairwise(arrivals)):
        assert after - before >= FIRST_RETRY * 2**n - 0.02, (n, after - before)
    [logged] = await deliveries(world, hook["id"])
    assert logged["response_code"] == 500 and logged["error"] == "nope"
    assert logged["attempts"] >= 3

    admin = await world.log_in(world.person("acme", Role.ADMIN))

    async def state() -> dict[str, Any]:
        return dict(await (await world.request(admin, "GET", f"/api/webhooks/{hook['id']}")).json())

    paused = await eventually(state, until=lambda hook: hook["state"] == "paused", within=15)
    assert "failed" in paused["paused_reason"]
    # Paused: nothing more is sent.
    count = len(receiver.got)
    world.bus.publish(CALL_ENDED, world.tenant_ids["acme"], call_ended("while-paused"))
    await asyncio.sleep(1.0)
    assert len(receiver.got) == count
    # Resumed once fixed, the failed delivery replayed from the log gets through.
    receiver.status = 204
    resumed = await world.request(admin, "PATCH", f"/api/webhooks/{hook['id']}",
                                  {"active": True})
    assert (await resumed.json())["state"] == "active"
    replay = await world.request(
        admin, "POST", f"/api/webhooks/{hook['id']}/deliveries/{logged['id']}/replay")
    assert replay.status == 200

    async def first() -> dict[str, Any]:
        return next(row for row in await deliveries(world, hook["id"]) if row["id"] == logged["id"])

    await eventually(first, until=lambda row: row["status"] == "delivered", within=10)


async def test_the_schedule_survives_a_restart(
        sqlite_template: Path, tmp_path: Path, receiver: Receiver) -> None:
    settings = WebhookSettings(internal_urls=True, first_retry=FIRST_RETRY, retry_for=60.0)
    first = await build_world(sqlite_template, tmp_path, webhooks=settings)
    try:
        receiver.status = 503
        hook = await subscribe(first, receiver.url, ["call.ended"])
        first.bus.publish(CALL_ENDED, first.tenant_ids["acme"], call_ended("restart"))
        await eventually(lambda: receiver.got, until=bool, within=10)
    finally:
        await close_world(first)
    receiver.status = 200
    count = len(receiver.got)
    # Another app over the same database file: it finds the pending delivery and sends it.
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    second = TestServer(web_app(WebContext(db=db, bus=Bus(), settings=Settings(webhooks=settings)),
                                []))
    await second.start_server()
    try:
        await eventually(lambda: len(receiver.got), until=lambda n: n > count, within=10)
        assert receiver.got[-1][1]["X-Pbx-Delivery"] == receiver.got[0][1]["X-Pbx-Delivery"]
        assert hook["id"]
    finally:
        await second.close()
        await db.dispose()


async def test_urls_and_events_are_checked(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    for url in ("http://127.0.0.1:8088/ari", "http://169.254.169.254/latest", "http://10.0.0.5/",
                "http://localhost/hook", "http://[::1]/", "ftp://example.com/x",
                "https://user:pw@example.com/x", "not a url"):
        response = await world.request(admin, "POST", "/api/webhooks",
                                       {"url": url, "events": ["call.ended"]})
        assert response.status == 400, url
        assert list((await response.json())["fields"]) == ["url"], url
    response = await world.request(
        admin, "POST", "/api/webhooks",
        {"url": "https://crm.example.com/h", "events": ["call.exploded"]})
    assert (await response.json())["fields"] == {
        "events.0": "is not an event (known: call.started, call.answered, call.ended, "
                    "disposition.set, agent.state, recording.ready, ticket.created, "
                    "ticket.updated, transcript.ready, insights.ready, callback.requested, "
                    "evaluation.saved)"}
    response = await world.request(admin, "POST", "/api/webhooks",
                                   {"url": "https://crm.example.com/h", "events": []})
    assert "events" in (await response.json())["fields"]


async def test_dispositions_and_recordings_are_sent_too(
        hooked: World, receiver: Receiver, tmp_path: Path) -> None:
    world = hooked
    hook = await subscribe(world, receiver.url, ["disposition.set", "recording.ready"])
    agent = await world.log_in(world.person("acme", Role.AGENT))
    saved = await world.request(agent, "PUT", f"/api/calls/{'a' * 32}/disposition",
                                {"disposition": "Resolved", "notes": "refund sent"})
    assert saved.status == 200, await saved.text()
    store = RecordingStore(world.db, tmp_path / "recordings", bus=world.bus)
    await store.keep(b"RIFF", name="r1", fmt="wav", tenant_id=world.tenant_ids["acme"],
                     call_id="a" * 32, kind=RecordingKind.CALL, started_at=datetime.now(UTC),
                     duration=3.0)
    await eventually(lambda: len(receiver.got), until=lambda n: n >= 2, within=10)
    sent = {json.loads(body)["type"]: json.loads(body)["data"] for _, _, body in receiver.got}
    assert sent["disposition.set"]["disposition"] == "Resolved"
    assert sent["disposition.set"]["notes"] == "refund sent"
    assert sent["disposition.set"]["agent_user_id"] == agent.user_id
    assert sent["recording.ready"]["call_id"] == "a" * 32
    assert sent["recording.ready"]["duration_seconds"] == 3.0
    assert all(verify(hook["secret"], headers["X-Pbx-Signature"], body, int(time.time()))
               for _, headers, body in receiver.got)


async def test_a_full_queue_drops_the_oldest_events_and_counts_them(hooked: World) -> None:
    world = hooked
    hooks = world.app[WEBHOOKS]
    dispatcher = Dispatcher(hooks, world.bus, internal_ok=True)
    # A queue of 3 nobody reads while 5 events arrive: publishing never waits.
    dispatcher._subscription = world.bus.subscribe([CALL_ENDED], size=3)
    try:
        for n in range(5):
            world.bus.publish(CALL_ENDED, world.tenant_ids["acme"], call_ended(f"c{n}"))
        before = hooks.dropped
        await dispatcher._take()
        assert hooks.dropped - before == 2
    finally:
        dispatcher._subscription.close()
