"""Fixtures of the browser tests on the real stack: a private sandbox Asterisk, the Stasis app
(ACD, IVR, trunk line) and the web sidecar with LiveContactCenter, in this process, over a
SQLite database migrated with the project's migrations.

Import them into a test module (`from live import live_sandbox_fixture, live_stack_fixture`,
fixtures `live_sandbox` and `stack`):
tests/e2e/conftest.py serves the pages over the in-memory telephony and stays as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from argon2 import PasswordHasher
from playwright.async_api import Page, expect
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from opened import sign_in
from polling import eventually
from sandbox import Sandbox, SandboxError, SippAgent, free_media_port

from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.center.live import LiveContactCenter, websocket_sip_url
from pbx_stasis.config import (
    AriSettings,
    CallSettings,
    DatabaseSettings,
    IvrSettings,
    RecordingSettings,
    Settings,
    WebSettings,
)
from pbx_stasis.crm.contacts import ContactDraft
from pbx_stasis.crm.service import CRM
from pbx_stasis.plugins import web_app
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.store.tables import Call, CallEvent
from pbx_stasis.web.app import SITE, Site, WebContext

# Cheap argon2 parameters: the tests check the flow, not the hash's strength.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
TENANT = "acme"
DID = "+15551000"
CALLER = "+14155550123"
CALLER_NAME = "Grace Hopper"
DISPOSITIONS = (("Resolved", False), ("Call back", True), ("Sale", False))

# The IVR of the support line: a short prompt, then the `support` queue (the ACD owns the call).
SUPPORT_FLOW = f"""\
flows:
  support:
    description: Support line
    dids: ["{DID}"]
    entry: welcome
    prompts:
      welcome: {{en: {{file: beep}}}}
    nodes:
      welcome: {{kind: play, prompts: welcome, next: to_support}}
      to_support: {{kind: queue, queue: support}}
"""


@dataclass
class LiveStack:
    """The running contact center and what the tests need to reach inside it."""

    sandbox: Sandbox
    settings: Settings
    db: Database
    app: StasisApp
    center: LiveContactCenter
    site: Site
    base_url: str
    tenant_id: int
    workdir: Path
    users: dict[str, int] = field(default_factory=dict)  # username -> user id
    agent: AgentRecord | None = None
    contact_id: int = 0

    async def journal(self, call_id: str, *events: str) -> list[CallEvent]:
        """The call's journal rows (all, or only `events`), oldest first."""
        await self.app.db.writes.settle()
        statement = select(CallEvent).where(CallEvent.call_id == call_id)
        if events:
            statement = statement.where(CallEvent.event.in_(events))
        async with self.db.session() as session:
            return list(await session.scalars(statement.order_by(CallEvent.id)))

    async def call(self, call_id: str) -> Call | None:
        await self.app.db.writes.settle()
        async with self.db.session() as session:
            return await session.get(Call, call_id)

    async def calls(self) -> list[Call]:
        await self.app.db.writes.settle()
        async with self.db.session() as session:
            return list(await session.scalars(select(Call).order_by(Call.started_at)))

    async def wait_for(self, call_id: str, event: str, within: float = 10.0) -> list[CallEvent]:
        """Rows of `event` for the call, once there is one."""
        return await eventually(lambda: self.journal(call_id, event), within=within)

    def carrier(self, workdir: Path, **keys: str) -> SippAgent:
        """A sipp UAS on the sandbox trunk's port: the far end of outbound calls."""
        return SippAgent(
            "agent-answer.xml",
            sip_port=self.sandbox.trunk_port,
            media_port=free_media_port(),
            keys={"ring_ms": "300", **keys},
            lifetime=60,
            workdir=workdir,
        )


@pytest.fixture(name="live_sandbox", scope="module")
def live_sandbox_fixture() -> Iterator[Sandbox]:
    """A sandbox instance of this module's own (free ports): trunk calls enter the Stasis app
    `pbx`, and another session's `pbx` on the shared instance would take them."""
    try:
        instance = Sandbox.private("e2e")
        instance.require_installed()
        instance.start()
    except SandboxError as problem:
        pytest.fail(str(problem), pytrace=False)
    try:
        yield instance
    finally:
        instance.discard()


async def _seed(db: Database, tenant: str) -> dict[str, int]:
    """One user per role the story needs, all with PASSWORD."""
    directory = Directory(db)
    password_hash = FAST_HASHER.hash(PASSWORD)
    users: dict[str, int] = {}
    for username, role, name in (
        ("alice", "agent", "Alice Agent"),
        ("sam", "supervisor", "Sam Supervisor"),
        ("morgan", "manager", "Morgan Manager"),
        ("root", "admin", "Ada Admin"),
    ):
        user = await directory.add_user(
            tenant, username, role, display_name=name, password_hash=password_hash
        )
        users[username] = user.id
    return users


@pytest_asyncio.fixture(name="stack", loop_scope="module", scope="module")
async def live_stack_fixture(
    live_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, page_bundles: Path
) -> AsyncIterator[LiveStack]:
    """What `pbx run` starts (pbx_stasis.cli.run.serve), built by hand so tests reach the objects:
    tenant `acme` with an agent (WebRTC softphone, queue `support`), a supervisor (a softphone
    in no queue), a manager and an admin,
    dispositions, a contact for CALLER, and the IVR flow of DID applied."""
    workdir = tmp_path_factory.mktemp("live")
    url = f"sqlite+aiosqlite:///{workdir}/pbx.db"
    await migrate.upgrade(url)
    db = Database.connect(url)
    settings = Settings(
        ari=AriSettings(
            url=live_sandbox.ari_url, user=live_sandbox.user, password=live_sandbox.password
        ),
        database=DatabaseSettings(url=url),
        web=WebSettings(host="127.0.0.1", port=0),
        calls=CallSettings(tenant=TENANT),
        recordings=RecordingSettings(dir=str(workdir / "recordings")),
        # The tests' own servers (a CRM, a lookup) listen on loopback.
        ivr=IvrSettings(internal_lookups=(TENANT,)),
    )
    users = await _seed(db, TENANT)
    tenant = await Directory(db).ensure_tenant(TENANT)
    acd_directory = AcdDirectory(db)
    await acd_directory.save_queue(tenant.id, "support", {"wrapup": 30, "ring_timeout": 20})
    agent = await acd_directory.save_agent(users["alice"], queues={"support": 0})
    await acd_directory.save_agent(users["sam"])  # a softphone to listen with, in no queue

    app = StasisApp(settings, db, Bus())
    runner: web.AppRunner | None = None
    try:
        await app.start()
        async with asyncio.timeout(15):
            await app.events.wait_connected()
        applied = await app.ivr.apply(tenant.id, [("support", SUPPORT_FLOW)], "root",
                                      user_id=users["root"])
        assert applied.version is not None, [str(p) for p in applied.problems]
        ws_url, domain = websocket_sip_url(settings.ari.url)
        center = LiveContactCenter(db, app.bus, app.acd, app.ivr, ws_url=ws_url,
                                   sip_domain=domain, dial=app.agent_calls.dial)
        context = WebContext(db=db, bus=app.bus, settings=settings, password_hasher=FAST_HASHER)
        # as pbx run wires them (pbx_stasis.cli.run.serve)
        sidecar = web_app(context, app.offered(center))
        runner = web.AppRunner(sidecar, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        site = sidecar[SITE]
        crm = sidecar[CRM]
        for name, follow_up in DISPOSITIONS:
            await crm.dispositions.create(tenant.id, name, requires_follow_up=follow_up)
        contact = await crm.contacts.create(
            tenant.id,
            ContactDraft(
                name=CALLER_NAME,
                company="Harvard Computation Lab",
                phones=(CALLER,),
                tags=("vip",),
                custom_fields={"account": "G-1906"},
            ),
        )
        yield LiveStack(
            sandbox=live_sandbox, settings=settings, db=db, app=app, center=center, site=site,
            base_url=f"http://{host}:{port}", tenant_id=tenant.id, workdir=workdir,
            users=users, agent=agent, contact_id=contact.id,
        )
    finally:
        if runner is not None:
            await runner.cleanup()
        with contextlib.suppress(Exception):
            await app.stop()
        await db.dispose()


async def log_in(page: Page, stack: LiveStack, username: str, *, feed: bool = True) -> None:
    """Log `username` in through the login form of the live stack's pages."""
    await sign_in(page, stack.base_url, TENANT, username, PASSWORD)
    if feed:  # the agent page and the wallboard are live over the WebSocket
        await expect(page.get_by_test_id("feed-status")).to_have_text("Live")


async def phone_ready(page: Page, stack: LiveStack, username: str, within: float = 15) -> None:
    """The page's softphone registered, and the app has seen it register: until then an agent
    who goes available shows offline (no phone), which a loaded host can make last seconds."""
    await eventually(lambda: page.evaluate("window.pbxSoftphone.registered"), until=bool,
                     within=within)
    await eventually(lambda: stack.center.agent_status(stack.tenant_id, stack.users[username]),
                     until=lambda view: view.registered, within=within)
