"""A small contact center for web tests: two tenants, one user of each role in each, contacts,
dispositions, queues and call records, served by the real web app over a real SQLite database.

Only the telephony side is the in-memory MemoryContactCenter (center_fake.py).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from center_fake import MemoryContactCenter

from pbx_stasis.acd.model import QueueConfig, Strategy
from pbx_stasis.acd.service import ACD_SERVICE, AgentProfile
from pbx_stasis.bus import Bus
from pbx_stasis.config import (
    CallSettings,
    IvrSettings,
    RecordingSettings,
    Settings,
    WebhookSettings,
    WebSettings,
)
from pbx_stasis.crm.contacts import ContactDraft
from pbx_stasis.crm.service import CRM, Crm
from pbx_stasis.ivr.service import FLOW_SERVICE
from pbx_stasis.plugins import web_app
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction, Role, Tenant, User
from pbx_stasis.web.app import SITE, Site, WebContext
from pbx_stasis.web.routing import CSRF_HEADER
from pbx_stasis.web.sessions import COOKIE

# Cheap argon2 parameters: the tests check the flow, not the hash's strength.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
TENANTS = ("acme", "globex")


@dataclass
class Clock:
    """A clock the tests move forward (session expiry, lockouts)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Person:
    user_id: int
    tenant_id: int
    tenant: str
    username: str
    role: Role
    token: str = ""
    csrf: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.token}", CSRF_HEADER: self.csrf}


@dataclass
class World:
    db: Database
    bus: Bus
    center: MemoryContactCenter
    clock: Clock
    app: web.Application
    client: TestClient[web.Request, web.Application]
    tenant_ids: dict[str, int]
    people: dict[tuple[str, Role], Person]
    contact_ids: dict[str, int] = field(default_factory=dict)
    disposition_ids: dict[str, int] = field(default_factory=dict)

    @property
    def site(self) -> Site:
        return self.app[SITE]

    @property
    def crm(self) -> Crm:
        return self.app[CRM]

    def person(self, tenant: str, role: Role) -> Person:
        return self.people[(tenant, role)]

    async def log_in(self, person: Person) -> Person:
        """Open a session for the person directly (the login form has its own tests)."""
        person.token = await self.site.sessions.open(
            person.user_id, person.tenant_id, "127.0.0.1", "pytest"
        )
        principal = await self.site.sessions.resolve(person.token)
        assert principal is not None
        person.csrf = principal.csrf_token
        return person

    async def request(
        self, person: Person | None, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> Any:
        headers = dict(person.headers) if person is not None else {}
        headers.update(kwargs.pop("headers", {}))
        return await self.client.request(
            method, path, json=json, headers=headers, allow_redirects=False, **kwargs
        )

    async def add_call(
        self,
        tenant: str,
        *,
        call_id: str,
        from_number: str,
        agent: Person | None = None,
        minutes_ago: int = 60,
        talk_seconds: int | None = 95,
        disposition: str | None = None,
        status: CallStatus = CallStatus.ENDED,
    ) -> None:
        started = utc_now() - timedelta(minutes=minutes_ago)
        answered = started + timedelta(seconds=8) if talk_seconds is not None else None
        ended = None
        if status is CallStatus.ENDED:
            ended = (answered or started) + timedelta(seconds=talk_seconds or 20)
        async with self.db.transaction() as tx:
            tx.add(
                Call(
                    id=call_id,
                    tenant_id=self.tenant_ids[tenant],
                    channel_id=f"chan-{call_id}",
                    direction=Direction.INBOUND,
                    from_number=from_number,
                    to_number="+18005550199",
                    started_at=started,
                    answered_at=answered,
                    ended_at=ended,
                    queue="support",
                    agent_user_id=agent.user_id if agent else None,
                    disposition=disposition,
                    status=status,
                )
            )


async def build_world(template: Path, tmp_path: Path, *, seed: bool = True,
                      web_settings: WebSettings | None = None,
                      webhooks: WebhookSettings | None = None,
                      ivr: IvrSettings | None = None) -> World:
    path = tmp_path / "web.db"
    shutil.copyfile(template, path)
    db = Database.connect(f"sqlite+aiosqlite:///{path}")
    bus = Bus()
    center = MemoryContactCenter(bus)
    clock = Clock()
    settings = Settings(calls=CallSettings(tenant="acme"), web=web_settings or WebSettings(),
                        webhooks=webhooks or WebhookSettings(), ivr=ivr or IvrSettings(),
                        recordings=RecordingSettings(dir=str(tmp_path / "recordings")))
    ctx = WebContext(
        db=db,
        bus=bus,
        settings=settings,
        password_hasher=FAST_HASHER,
        clock=clock,
    )
    app = web_app(ctx, [Offered(ACD_SERVICE, center), Offered(FLOW_SERVICE, center)])
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    world = World(db, bus, center, clock, app, client, {}, {})
    password_hash = FAST_HASHER.hash(PASSWORD)
    async with db.transaction() as tx:
        for slug in TENANTS:
            tenant = Tenant(name=slug.title(), slug=slug, created_at=utc_now())
            tx.add(tenant)
            await tx.flush()
            world.tenant_ids[slug] = tenant.id
            for role in Role:
                user = User(
                    tenant_id=tenant.id,
                    username=f"{role.value}",
                    display_name=f"{role.value.title()} of {slug.title()}",
                    role=role,
                    password_hash=password_hash,
                    created_at=utc_now(),
                    disabled=False,
                )
                tx.add(user)
                await tx.flush()
                world.people[(slug, role)] = Person(user.id, tenant.id, slug, user.username, role)
    for (slug, role), person in world.people.items():
        # The agent and the supervisor take calls of the support queue; the others only have a
        # softphone (to listen in, for instance).
        profile = AgentProfile(queues=("support",) if role in (Role.AGENT, Role.SUPERVISOR)
                               else ())
        center.add_agent(person.tenant_id, person.user_id, f"{person.username} ({slug})",
                         profile=profile)
    if seed:
        await _seed(world)
    return world


async def _seed(world: World) -> None:
    crm = world.crm
    for slug in TENANTS:
        tenant_id = world.tenant_ids[slug]
        world.center.add_queue(tenant_id, QueueConfig(name="support", wrapup=30.0))
        world.center.add_queue(tenant_id, QueueConfig(name="sales", strategy=Strategy.RINGALL))
        for name, follow_up in (("Resolved", False), ("Call back", True), ("Sale", False)):
            item = await crm.dispositions.create(tenant_id, name, requires_follow_up=follow_up)
            world.disposition_ids[f"{slug}:{name}"] = item.id
        contact = await crm.contacts.create(
            tenant_id,
            ContactDraft(
                name=f"Ada Lovelace ({slug})",
                company="Analytical Engines",
                phones=("+14155550100",),
                tags=("vip",),
                custom_fields={"account": "A-1001", "tier": "gold"},
            ),
        )
        world.contact_ids[slug] = contact.id
    agent = world.person("acme", Role.AGENT)
    await world.add_call(
        "acme", call_id="a" * 32, from_number="+14155550100", agent=agent, disposition="Sale"
    )
    await world.add_call(
        "acme", call_id="b" * 32, from_number="4155550100", agent=agent, minutes_ago=3000
    )
    await world.add_call("globex", call_id="c" * 32, from_number="+14155550100")


async def close_world(world: World) -> None:
    await world.client.close()
    await world.db.dispose()


@contextlib.asynccontextmanager
async def served(method: str, path: str,
                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> AsyncIterator[TestServer]:
    """A real HTTP server on loopback answering `method path` with `handler` (another system
    the contact center talks to: a CRM, a webhook receiver), closed at the end."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
