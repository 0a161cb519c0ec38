"""An in-process call center for integration tests: the real StasisApp on a real sandbox
Asterisk and a real database, with sipp desk phones as agents."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from polling import eventually
from sandbox import Sandbox, SippAgent, desk_phone_ports
from sqlalchemy import select

from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.calls.handoff import Outcome, QueueRequest
from pbx_stasis.calls.inbound import Call, CallScript
from pbx_stasis.center.live import LiveContactCenter, websocket_sip_url
from pbx_stasis.config import AriSettings, DatabaseSettings, Settings, TrunkSettings
from pbx_stasis.plugins import web_app
from pbx_stasis.recording import PolicyMode, RecordingPolicy, RecordingStore
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.store import Database, Directory, JournalEntry, migrate
from pbx_stasis.store.journal import _entry
from pbx_stasis.store.tables import CallEvent
from pbx_stasis.web.app import SITE, WebContext
from pbx_stasis.web.routing import CSRF_HEADER
from pbx_stasis.web.sessions import COOKIE


@dataclass
class CallCenter:
    app: StasisApp
    db: Database
    sandbox: Sandbox
    workdir: Path
    phones: list[SippAgent] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    async def add_agent(
        self,
        username: str,
        index: int,
        *,
        scenario: str = "agent-answer.xml",
        queues: Mapping[str, int] | None = None,
        skills: Mapping[str, int] | None = None,
        wrapup: float | None = None,
        keys: Mapping[str, str] | None = None,
        login: bool = True,
        phone_args: Sequence[str] = (),
    ) -> AgentRecord:
        """A user with a desk phone (sipp UAS on its own ports) logged into `queues`
        (`phone_args`: more sipp arguments, e.g. to log what the phone receives)."""
        sip_port, media_port = desk_phone_ports(index)
        user = await Directory(self.db).add_user("default", username, "agent")
        record = await AcdDirectory(self.db).save_agent(
            user.id, skills=skills or {}, queues=queues or {"sales": 0}, wrapup=wrapup,
            contact=f"sip:{username}@127.0.0.1:{sip_port}",
        )
        await asyncio.to_thread(self._phone, scenario, sip_port, media_port, keys, phone_args)
        await self.app.acd.save_agent(record)
        if login:
            self.app.acd.login(record.agent_id)
        return record

    def _phone(self, scenario: str, sip_port: int, media_port: int,
               keys: Mapping[str, str] | None, extra_args: Sequence[str] = ()) -> None:
        self.phones.append(SippAgent(scenario, sip_port=sip_port, media_port=media_port,
                                     keys=keys, workdir=self.workdir, lifetime=120,
                                     extra_args=extra_args))

    async def record(self, queue: str = "sales", policy: RecordingPolicy | None = None
                     ) -> RecordingStore:
        """The app's recorder writing under this test's folder; `queue`'s calls recorded by
        `policy` (every call by default)."""
        store = RecordingStore(self.db, self.workdir / "recordings")
        self.app.recorder.store = store
        await RecordingPolicies(self.db).set_policy(
            self.app.tenant_id, queue, policy or RecordingPolicy(PolicyMode.ALL))
        return store

    async def journal(self, *events: str) -> list[JournalEntry]:
        """Journal lines as stored, after everything queued so far (write-behind) is stored."""
        await self.app.db.writes.settle()
        async with self.db.session() as session:
            statement = select(CallEvent).order_by(CallEvent.id)
            if events:
                statement = statement.where(CallEvent.event.in_(events))
            return [_entry(row) for row in await session.scalars(statement)]

    async def wait_for(self, event: str, count: int = 1, within: float = 20.0
                       ) -> list[JournalEntry]:
        """Rows of `event` once there are at least `count` of them."""

        async def rows() -> list[JournalEntry]:
            await self.app.db.writes.settle()
            return await self.journal(event)

        return await eventually(rows, until=lambda rows: len(rows) >= count, within=within,
                                every=0.1)

    async def idle(self, within: float = 20.0) -> None:
        """Until no call is in progress."""
        await eventually(lambda: self.app.router.live_calls, until=lambda live: not live,
                         within=within)
        await self.app.db.writes.settle()


@contextlib.asynccontextmanager
async def call_center(
    sandbox: Sandbox,
    workdir: Path,
    queues: Mapping[str, Mapping[str, Any]],
    *,
    script: Callable[[CallCenter], CallScript] | None = None,
    clock: Callable[[], float] | None = None,
    database_url: str | None = None,
    trunk: TrunkSettings | None = None,
    ari_url: str | None = None,
) -> AsyncIterator[CallCenter]:
    """`database_url`: an empty migrated database (e.g. the test PostgreSQL's); a new SQLite
    file by default. `ari_url`: where the app reaches ARI (e.g. through the fault proxy)."""
    url = database_url or f"sqlite+aiosqlite:///{workdir}/pbx.db"
    if database_url is None:
        await migrate.upgrade(url)
    db = Database.connect(url)
    settings = Settings(
        ari=AriSettings(url=ari_url or sandbox.ari_url, user=sandbox.user,
                        password=sandbox.password),
        database=DatabaseSettings(url=url), trunk=trunk or TrunkSettings(),
    )
    tenant = await Directory(db).ensure_tenant("default")
    directory = AcdDirectory(db)
    for name, queue_settings in queues.items():
        await directory.save_queue(tenant.id, name, dict(queue_settings))
    holder: list[CallCenter] = []

    async def deferred(call: Call) -> None:
        assert script is not None
        await script(holder[0])(call)

    extra: dict[str, Any] = {"clock": clock} if clock else {}
    app = StasisApp(settings, db, Bus(), script=deferred if script else None, **extra)
    center = CallCenter(app, db, sandbox, workdir)
    holder.append(center)
    await app.start()
    try:
        async with asyncio.timeout(15):
            await app.events.wait_connected()
        yield center
    finally:
        await app.stop()
        for phone in center.phones:
            await asyncio.to_thread(phone.stop)
        await db.dispose()


def enqueue_into(queue: str, *, answer: bool = True, **request: Any
                 ) -> Callable[[CallCenter], CallScript]:
    """Script: answer (after a greeting, say), then wait in `queue`; with answer=False the
    caller arrives unanswered (a number routed straight to the queue)."""

    def build(center: CallCenter) -> CallScript:
        async def script(call: Call) -> None:
            if answer:
                await call.answer()
            center.outcomes.append(
                await center.app.acd.enqueue(call, QueueRequest(queue, **request))
            )

        return script

    return build


async def connected_call(center: CallCenter, within: float = 15.0) -> str:
    """The id of a call connected to an agent (waits for one)."""
    found = await eventually(
        lambda: next((call_id for call_id, waiting in center.app.acd._waiting.items()
                      if waiting.connected), None),
        within=within, what="a call connected to an agent")
    assert found is not None
    return found


WebClient = TestClient[web.Request, web.Application]


@contextlib.asynccontextmanager
async def web_client(center: CallCenter) -> AsyncIterator[WebClient]:
    """The web API over the live app, as pbx_stasis.cli.run.serve wires it."""
    app = center.app
    ws_url, domain = websocket_sip_url(app.settings.ari.url)
    services = LiveContactCenter(center.db, app.bus, app.acd, app.ivr, ws_url=ws_url,
                                 sip_domain=domain, dial=app.agent_calls.dial)
    context = WebContext(db=center.db, bus=app.bus, settings=app.settings)
    client: WebClient = TestClient(TestServer(web_app(context, app.offered(services))))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def session_headers(client: WebClient, user_id: int, tenant_id: int) -> dict[str, str]:
    """A logged-in session of the user: its cookie and CSRF header."""
    sessions = client.app[SITE].sessions
    token = await sessions.open(user_id, tenant_id, "127.0.0.1", "pytest")
    principal = await sessions.resolve(token)
    assert principal is not None
    return {"Cookie": f"{COOKIE}={token}", CSRF_HEADER: principal.csrf_token}
