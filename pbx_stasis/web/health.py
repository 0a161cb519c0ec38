"""The operator's endpoints, beside the route table (they answer machines, not sessions):
`/healthz` (the process answers), `/readyz` (every readiness check passes: 503 naming each one
that fails) and `/metrics` (Prometheus text format). The web process serves them on its port;
the Stasis process of a split deployment on its RPC address (cli/run.py).

Who may read /metrics: with `web.metrics_token` set, a request carrying
`Authorization: Bearer <token>`; without it, only a client on this machine (a loopback peer
whose request no proxy forwarded). Its labels carry queue names and tenant ids, so it is never
for the internet; /healthz and /readyz say nothing but the names of failing checks.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from pbx_stasis.store.db import Database

# A readiness check: None when ready, else why not (a short phrase naming what is missing,
# never an address or a credential: /readyz is open to load balancers).
Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT_S = 2.0  # a check that takes longer fails: a load balancer probes every few seconds


@dataclass
class Health:
    """The checks /readyz runs and what /metrics exposes, for one listening app."""

    checks: dict[str, Check] = field(default_factory=dict)
    token: str = ""  # web.metrics_token: "" means loopback clients only
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # The process's own figures (CPU, memory, file descriptors, GC) and every metric counted
        # in place (ARI, the write-behind queue, calls) live in prometheus_client's registry.
        self.registry.register(REGISTRY)

    def add_check(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def register(self, collector: Collector) -> None:
        """Figures read at scrape time (a read model's gauges)."""
        self.registry.register(collector)

    async def not_ready(self) -> list[str]:
        """Why this process is not ready (empty: ready), every check run at once."""
        names = list(self.checks)
        results = await asyncio.gather(*(_bounded(name, self.checks[name]) for name in names))
        return [f"{name}: {reason}" for name, reason in zip(names, results, strict=True)
                if reason is not None]


async def _bounded(name: str, check: Check) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s"


def database_check(db: Database) -> Check:
    """Ready while a SELECT 1 succeeds."""

    async def check() -> str | None:
        try:
            await db.ping()
        except Exception:  # the reason names the database's address: kept out of /readyz
            return "unreachable"
        return None

    return check


HEALTH = web.AppKey("health", Health)


def add_health(app: web.Application, health: Health) -> None:
    """Serve /healthz, /readyz and /metrics on `app` from `health`."""
    app[HEALTH] = health
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def _readyz(request: web.Request) -> web.Response:
    reasons = await request.app[HEALTH].not_ready()
    if not reasons:
        return web.json_response({"status": "ready"})
    return web.json_response(
        {"status": "not-ready", "error": "not-ready", "message": "; ".join(reasons),
         "reasons": reasons}, status=503)


async def _metrics(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    refusal = metrics_refusal(request, health.token)
    if refusal is not None:
        status, message = refusal
        headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
        return web.json_response({"error": "forbidden" if status == 403 else "unauthenticated",
                                  "message": message}, status=status, headers=headers)
    # The collectors read the live read models on the event loop that changes them (a
    # consistent snapshot without locks); the text, most of the cost (~600 lines for 50 queues:
    # 8 ms of the 12 measured), is written in a worker thread, off the calls' event loop.
    families = list(health.registry.collect())
    body = await asyncio.to_thread(generate_latest, _Collected(families))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class _Collected(Collector):
    """Metric families already collected, for the text writer."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def metrics_refusal(request: web.Request, token: str) -> tuple[int, str] | None:
    """Why this request may not read /metrics (status, message), or None if it may."""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            return 401, "Send Authorization: Bearer <web.metrics_token>"
        return None
    # No token: this machine only. A request a proxy forwarded comes from anywhere, whatever
    # its peer address says.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return 403, "Forwarded requests need web.metrics_token"
    if not _loopback(request.remote):
        return 403, "Only local clients, unless web.metrics_token is set"
    return None


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
