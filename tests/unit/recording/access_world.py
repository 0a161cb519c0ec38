"""A small world for route tests of recording and supervision: two tenants with one logged-in
user of each role, a real SQLite database, and the real web layer (Site, sessions, `serve`)
serving just the routes under test. The telephony side is a PhoneBook: the two ContactCenter
calls these routes make (a user's softphone, the tenant's queues)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pbx_stasis.acd.http.control import ACD
from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.bus import Bus
from pbx_stasis.center.service import SipCredentials
from pbx_stasis.config import RecordingSettings, Settings
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role, Tenant, User
from pbx_stasis.web.app import Site, WebContext
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode
from pbx_stasis.web.routing import CSRF_HEADER, Route, serve
from pbx_stasis.web.sessions import COOKIE

TENANTS = ("acme", "globex")


class PhoneBook:
    """Every supervisor and agent has a softphone `phone-<user id>`; each tenant two queues."""

    def __init__(self) -> None:
        self.phones: dict[int, str] = {}

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        endpoint = self.phones.get(user_id)
        if endpoint is None:
            raise ServiceError(ServiceErrorCode.NOT_FOUND, "no softphone")
        return SipCredentials("ws://127.0.0.1/ws", f"sip:{endpoint}@127.0.0.1", endpoint, "x",
                              endpoint)

    async def queues(self, tenant_id: int) -> list[QueueConfig]:
        return [QueueConfig(name="sales"), QueueConfig(name="support")]


@dataclass
class Person:
    user_id: int
    tenant_id: int
    tenant: str
    role: Role
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class AccessWorld:
    db: Database
    site: Site
    app: web.Application
    client: TestClient[web.Request, web.Application]
    tenant_ids: dict[str, int]
    people: dict[tuple[str, Role], Person]
    recordings_dir: Path

    def person(self, tenant: str, role: Role) -> Person:
        return self.people[(tenant, role)]

    async def add_person(self, tenant: str, role: Role, username: str) -> Person:
        """Another logged-in user (e.g. a second agent of a tenant)."""
        async with self.db.transaction() as tx:
            user = User(tenant_id=self.tenant_ids[tenant], username=username,
                        display_name=username, role=role, password_hash=None,
                        created_at=utc_now(), disabled=False)
            tx.add(user)
            await tx.flush()
            person = Person(user.id, user.tenant_id, tenant, role)
        await _log_in(self.site, person)
        return person

    async def request(self, who: Person | None, method: str, path: str, json: Any = None,
                      headers: dict[str, str] | None = None) -> Any:
        sent = dict(who.headers) if who is not None else {}
        sent.update(headers or {})
        return await self.client.request(method, path, json=json, headers=sent,
                                         allow_redirects=False)


async def build_world(
    template: Path,
    tmp_path: Path,
    routes: list[Route],
    keys: Callable[[Database, Path], dict[Any, Any]] | None = None,
) -> AccessWorld:
    """`keys(db, recordings_dir)` gives the app keys to set (the services under test)."""
    path = tmp_path / "access.db"
    shutil.copyfile(template, path)
    db = Database.connect(f"sqlite+aiosqlite:///{path}")
    recordings_dir = tmp_path / "recordings"
    book = PhoneBook()
    settings = Settings(recordings=RecordingSettings(dir=str(recordings_dir)))
    context = WebContext(db=db, bus=Bus(), settings=settings)
    site = Site(context)
    app = web.Application()
    app[ACD] = book  # type: ignore[misc]  # a PhoneBook: the two AcdControl calls used
    for key, value in (keys(db, recordings_dir) if keys else {}).items():
        app[key] = value
    for route in routes:
        app.router.add_route(route.method, route.path, serve(route, site))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    world = AccessWorld(db, site, app, client, {}, {}, recordings_dir)
    async with db.transaction() as tx:
        for slug in TENANTS:
            tenant = Tenant(name=slug.title(), slug=slug, created_at=utc_now())
            tx.add(tenant)
            await tx.flush()
            world.tenant_ids[slug] = tenant.id
            for role in Role:
                user = User(tenant_id=tenant.id, username=role.value,
                            display_name=f"{role.value.title()} of {slug.title()}", role=role,
                            password_hash=None, created_at=utc_now(), disabled=False)
                tx.add(user)
                await tx.flush()
                world.people[(slug, role)] = Person(user.id, tenant.id, slug, role)
                if role in (Role.AGENT, Role.SUPERVISOR):
                    book.phones[user.id] = f"phone-{user.id}"
    for person in world.people.values():
        await _log_in(site, person)
    return world


async def _log_in(site: Site, person: Person) -> None:
    token = await site.sessions.open(person.user_id, person.tenant_id, "127.0.0.1", "pytest")
    principal = await site.sessions.resolve(token)
    assert principal is not None
    person.headers = {"Cookie": f"{COOKIE}={token}", CSRF_HEADER: principal.csrf_token}


async def close_world(world: AccessWorld) -> None:
    await world.client.close()
    await world.db.dispose()
