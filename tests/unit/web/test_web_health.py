"""/healthz, /readyz and /metrics (web/health.py): readiness names each failing check, a check
that hangs fails in bounded time, and /metrics answers only a local client or the bearer of
web.metrics_token, never a request a proxy forwarded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

# The modules that count in place, as a running process has them loaded.
from pbx_stasis.ari import metrics as ari_metrics  # noqa: F401
from pbx_stasis.calls import records  # noqa: F401
from pbx_stasis.store import metrics as store_metrics  # noqa: F401
from pbx_stasis.web import health as health_module
from pbx_stasis.web.health import Check, Health, add_health, metrics_refusal

Client = TestClient[web.Request, web.Application]


def fixed(reason: str | None) -> Check:
    async def check() -> str | None:
        return reason

    return check


async def hangs() -> str | None:
    await asyncio.sleep(3600)
    return None


async def _client(health: Health) -> Client:
    app = web.Application()
    add_health(app, health)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def served() -> AsyncIterator[Callable[[Health], Awaitable[Client]]]:
    clients: list[Client] = []

    async def serve(health: Health) -> Client:
        client = await _client(health)
        clients.append(client)
        return client

    yield serve
    for client in clients:
        await client.close()


async def test_ready_when_every_check_passes(served: Callable[..., Awaitable[Client]]
                                             ) -> None:
    client = await served(Health({"database": fixed(None), "ari": fixed(None)}))
    answer = await client.get("/readyz")
    assert answer.status == 200
    assert await answer.json() == {"status": "ready"}
    assert (await client.get("/healthz")).status == 200


async def test_not_ready_names_each_failing_check(served: Callable[..., Awaitable[Client]]
                                                  ) -> None:
    client = await served(Health({"database": fixed("unreachable"), "ari": fixed(None),
                                  "stasis": fixed("ari: not connected")}))
    answer = await client.get("/readyz")
    assert answer.status == 503
    body = await answer.json()
    assert body["reasons"] == ["database: unreachable", "stasis: ari: not connected"]
    assert body["error"] == "not-ready" and "database: unreachable" in body["message"]
    # Alive all the same: a restart would not bring the database back.
    assert (await client.get("/healthz")).status == 200


async def test_a_hanging_check_fails_in_bounded_time(
    served: Callable[..., Awaitable[Client]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_module, "CHECK_TIMEOUT_S", 0.05)
    client = await served(Health({"database": hangs}))
    answer = await client.get("/readyz")
    assert answer.status == 503
    assert (await answer.json())["reasons"] == ["database: no answer within 0.05 s"]


async def test_metrics_for_a_local_client_in_prometheus_format(
    served: Callable[..., Awaitable[Client]]
) -> None:
    client = await served(Health())
    answer = await client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(await answer.text())}
    assert "process_resident_memory_bytes" in names
    assert {"pbx_ari_events", "pbx_ari_request_seconds", "pbx_store_commit_seconds",
            "pbx_calls_started"} <= names
    # Forwarded by a proxy on this machine: from anywhere, so refused without the token.
    answer = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert answer.status == 403


async def test_metrics_with_a_token_need_it(served: Callable[..., Awaitable[Client]]
                                            ) -> None:
    client = await served(Health(token="s3cret-token"))
    answer = await client.get("/metrics")
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    basic = await client.get("/metrics", headers={"Authorization": "Basic s3cret-token"})
    assert basic.status == 401
    right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert right.status == 200
    # The token is what counts, also through a proxy.
    proxied = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token",
                                                    "X-Forwarded-For": "203.0.113.5"})
    assert proxied.status == 200


@pytest.mark.parametrize("peer", ["203.0.113.5", "10.0.0.7", "::ffff:203.0.113.5", None])
def test_metrics_refuse_other_machines_without_a_token(peer: str | None) -> None:
    request = make_mocked_request("GET", "/metrics").clone(remote=peer)
    assert metrics_refusal(request, "") is not None
    assert metrics_refusal(make_mocked_request("GET", "/metrics").clone(remote="::1"),
                           "") is None
