"""Webhooks on a real call: sipp calls the sandbox Asterisk, the app greets and hangs up, and a
receiver started here (aiohttp on loopback) gets call.started, call.answered and call.ended,
each signed with the subscription's secret; the subscription was made with an API token. The
web app's /metrics counts the deliveries and shows the queue's depth."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from callcenter import call_center
from polling import eventually
from prometheus_client.parser import text_string_to_metric_families
from sandbox import Sandbox, run_sipp_async

from pbx_stasis.calls.events import CALL_ENDED
from pbx_stasis.center.live import LiveContactCenter, websocket_sip_url
from pbx_stasis.config import WebhookSettings
from pbx_stasis.plugins import web_app
from pbx_stasis.store import Directory
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.tokens import ApiTokens
from pbx_stasis.webhooks.core import verify

pytestmark = pytest.mark.integration

CALL_EVENTS = ["call.started", "call.answered", "call.ended"]


async def test_a_real_call_reaches_the_receiver_signed(sandbox: Sandbox, tmp_path: Path) -> None:
    got: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(text="ok")

    receiver_app = web.Application()
    receiver_app.router.add_post("/pbx", receive)
    receiver = TestServer(receiver_app, host="127.0.0.1")
    await receiver.start_server()
    async with call_center(sandbox, tmp_path, {}) as center:
        app = center.app
        ws_url, domain = websocket_sip_url(app.settings.ari.url)
        services = LiveContactCenter(center.db, app.bus, app.acd, app.ivr, ws_url=ws_url,
                                     sip_domain=domain, dial=app.agent_calls.dial)
        # The tests' receiver is on loopback: the operator's switch allows it here.
        settings = replace(app.settings, webhooks=WebhookSettings(internal_urls=True))
        context = WebContext(db=center.db, bus=app.bus, settings=settings)
        client: TestClient[web.Request, web.Application] = TestClient(
            TestServer(web_app(context, app.offered(services))))
        await client.start_server()
        try:
            boss = await Directory(center.db).add_user("default", "boss", "admin")
            _, token = await ApiTokens(center.db, utc_now).create(
                app.tenant_id, boss.id, "crm", Role.ADMIN)
            made = await client.post(
                "/api/webhooks", headers={"Authorization": f"Bearer {token}"},
                json={"url": str(receiver.make_url("/pbx")), "events": CALL_EVENTS})
            assert made.status == 201, await made.text()
            secret = (await made.json())["secret"]
            # The dispatcher listens once it has read the new subscription.
            await eventually(lambda: app.bus.listened(CALL_ENDED, app.tenant_id), within=5)
            result = await run_sipp_async("caller-waits-bye.xml", sandbox.sip_target,
                                          service="5551000", caller="+15551234567", timeout=20)
            assert result.ok, result.describe()
            await eventually(lambda: len(got), until=lambda n: n >= 3, within=20)

            async def figures() -> dict[str, float]:
                text = await (await client.get("/metrics")).text()
                return {f"{sample.name}{sorted(sample.labels.items())}": sample.value
                        for family in text_string_to_metric_families(text)
                        for sample in family.samples}

            # (the counters are the process's: other tests' deliveries may add to them)
            shown = await eventually(
                figures, until=lambda f: f.get(
                    "pbx_webhook_attempts_total[('outcome', 'delivered')]", 0) >= 3, within=10)
            assert shown["pbx_webhook_delivery_lag_seconds_count[]"] >= 3
            assert shown["pbx_webhook_post_seconds_count[]"] >= 3
            assert shown["pbx_webhook_queue_depth[('stage', 'events')]"] == 0
            assert shown["pbx_webhook_queue_depth[('stage', 'held')]"] == 0
            assert "pbx_webhook_events_dropped_total[]" in shown
        finally:
            await client.close()
            await receiver.close()
    sent: list[dict[str, Any]] = []
    for headers, body in got:
        assert verify(secret, headers["X-Pbx-Signature"], body, int(time.time()))
        event = json.loads(body)
        assert headers["X-Pbx-Delivery"] == event["id"]
        sent.append(event)
    assert sorted(event["type"] for event in sent) == sorted(CALL_EVENTS)
    assert len({event["data"]["call_id"] for event in sent}) == 1
    ended = next(event for event in sent if event["type"] == "call.ended")
    assert ended["data"]["from_number"] == "+15551234567"
    assert ended["data"]["cause"] == 16
