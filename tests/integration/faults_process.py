"""Fault injection from outside: `pbx run` as a real process against a sandbox Asterisk, killed
(-9) or stopped (SIGTERM) under calls, and started again; a queue of sipp desk-phone agents
behind an IVR line, sipp callers, and what the journal and the reports say after. Every wait is
bounded."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pbxproc import PbxProcess, pbx_command, pbx_commands
from polling import wait_until
from ports import free_port
from sandbox import Sandbox, SippAgent, desk_phone_ports
from sqlalchemy import select

from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.reports.core import Report, ReportFold
from pbx_stasis.reports.store import journal_rows
from pbx_stasis.role.tables import ControllerLease
from pbx_stasis.store import Database, Directory, JournalEntry
from pbx_stasis.store.journal import _entry
from pbx_stasis.store.tables import Call as CallRow
from pbx_stasis.store.tables import CallEvent, Role
from pbx_stasis.web.passwords import hash_password

DID = "+15553000"
FLOW = f"""\
flows:
  line:
    description: The fault tests' line, straight to the queue
    dids: ["{DID}"]
    entry: to_sales
    nodes:
      to_sales: {{kind: queue, queue: sales}}
"""
PASSWORD = "pw-agent-1"
ADMIN_PASSWORD = "pw-admin-1"  # the floor's administrator, `admin`
REPO = Path(__file__).resolve().parents[2]



def pbx(env: dict[str, str], *args: str) -> str:
    done = pbx_command(list(args), env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def pbx_all(env: dict[str, str], *commands: list[str]) -> list[str]:
    """`pbx` commands in turn, in one process (the CLI's start paid once: 8 commands cost
    ~6 s of CPU instead of ~30); what each printed. Each must succeed."""
    done = pbx_commands(commands, env)
    for argv, result in itertools.zip_longest(commands, done):
        assert result is not None and result.returncode == 0, (
            argv, result and (result.stdout, result.stderr))
    return [result.stdout for result in done]


@dataclass
class Floor:
    """A database with queue `sales` (settings given), agents with desk phones (sipp UAS,
    answering, in `phones`) and the line DID leading to the queue; `pbx run` comes and goes."""

    env: dict[str, str]
    workdir: Path
    agents: dict[str, int]  # username -> user id
    phones: list[SippAgent] = field(default_factory=list)
    process: PbxProcess | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return self.env["PBX_DATABASE_URL"]

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.env['PBX_WEB_PORT']}"

    # --- the process ------------------------------------------------------------------------

    def start(self, within: float = 30.0) -> PbxProcess:
        """`pbx run`, until its ARI events socket is connected (its resync then runs)."""
        assert self.process is None or self.process.proc.poll() is not None, "still running"
        self.starts += 1
        self.process = PbxProcess(self.env, self.workdir / f"pbx-{self.starts}.log")
        self.process.wait_for_log("ARI events connected", within)
        return self.process

    def kill(self) -> None:
        """kill -9: no goodbye to Asterisk, no last journal burst."""
        process = self._running()
        process.proc.kill()
        process.proc.wait(10)
        process.terminate()  # closes its log

    def stop(self, within: float = 20.0) -> int:
        """SIGTERM, as a service manager stops it for an upgrade; its exit status (it must
        exit within `within` seconds, else it is killed and the status is the kill's)."""
        process = self._running()
        started = process.proc.poll() is None
        code = process.terminate(within, signal.SIGTERM)
        assert started
        return code

    def log(self) -> str:
        return self.process.log() if self.process is not None else ""

    def wait_for_log(self, text: str, within: float = 20.0) -> None:
        self._running().wait_for_log(text, within)

    def _running(self) -> PbxProcess:
        assert self.process is not None and self.process.proc.poll() is None, self.log()
        return self.process

    # --- what agents do on the web ----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def signed_in(self, username: str, password: str = PASSWORD, web: str | None = None
                        ) -> AsyncIterator[tuple[aiohttp.ClientSession, dict[str, str]]]:
        """A web client logged in through the login form as `username` (on the pages at `web`,
        default the floor's), and the CSRF header its changes must carry."""
        async with aiohttp.ClientSession(base_url=web or self.web,
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            html = await (await client.get("/login")).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)
            assert token, html
            login = await client.post("/login", allow_redirects=False, data={
                "tenant": "default", "username": username, "password": password,
                "csrf_token": token.group(1), "next": ""})
            assert login.status == 303, await login.text()
            me = await (await client.get("/api/me")).json()
            yield client, {"X-CSRF-Token": me["csrf_token"]} if "csrf_token" in me else {}

    async def available(self, username: str) -> None:
        """The agent logs in to the web and makes themself available (logged into their
        queues): a LOGIN in the journal, as a person does it."""
        async with self.signed_in(username) as (client, csrf), client.put(
                "/api/me/agent/state", json={"state": "available"}, headers=csrf) as answer:
            assert answer.status == 200, await answer.text()

    async def not_available(self, web: str, within: float) -> tuple[str, ...]:
        """The floor's agents the controller serving the pages at `web` does not show
        available (its /api/agents, read as the administrator), `within` seconds given to
        become so: none once every call ended, unless one is stuck."""
        ids = set(self.agents.values())
        deadline = time.monotonic() + within
        async with self.signed_in("admin", ADMIN_PASSWORD, web) as (client, _):
            while True:
                async with client.get("/api/agents") as answer:
                    assert answer.status == 200, await answer.text()
                    listed = (await answer.json())["agents"]
                stuck = tuple(f"agent {a['user_id']} {a['state']} (call {a.get('call_id')})"
                              for a in listed
                              if a["user_id"] in ids and a["state"] != "available")
                if not stuck or time.monotonic() > deadline:
                    return stuck
                await asyncio.sleep(0.5)

    # --- what was stored --------------------------------------------------------------------

    async def journal(self, *events: str) -> list[JournalEntry]:
        db = Database.connect(self.url)
        try:
            async with db.session() as session:
                statement = select(CallEvent).order_by(CallEvent.id)
                if events:
                    statement = statement.where(CallEvent.event.in_(events))
                return [_entry(row) for row in await session.scalars(statement)]
        finally:
            await db.dispose()

    async def calls(self) -> list[CallRow]:
        """The calls' rows, oldest first."""
        db = Database.connect(self.url)
        try:
            async with db.session() as session:
                return list(await session.scalars(select(CallRow).order_by(CallRow.started_at)))
        finally:
            await db.dispose()

    async def lease(self) -> tuple[str, int] | None:
        """The controller role's lease row: (holder, epoch); None before any holder."""
        db = Database.connect(self.url)
        try:
            async with db.session() as session:
                row = await session.scalar(select(ControllerLease))
                return None if row is None else (row.holder, row.epoch)
        finally:
            await db.dispose()

    async def report(self, start: datetime, end: datetime) -> Report:
        """The reports' fold of [start, end), as `GET /api/reports` reads it."""
        db = Database.connect(self.url)
        try:
            folding = ReportFold(start.timestamp(), end.timestamp())
            async for batch in journal_rows(db, 1, start - timedelta(days=1), end,
                                            since_start=True):
                folding.add(batch)
            return folding.finish()
        finally:
            await db.dispose()


# --- a browser's feed, on web processes sharing a port ------------------------------------


async def subscribed(client: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """The feed as web/src/feed.js opens it: /ws, subscribe, wait for `subscribed`."""
    ws = await client.ws_connect("/ws", headers={"Origin": str(client._base_url)})
    await ws.send_str(json.dumps({"subscribe": ["agent:state"]}))
    while (message := await ws.receive_json(timeout=5))["type"] != "subscribed":
        assert message["type"] == "hello", message
    return ws


def serving(ws: aiohttp.ClientWebSocketResponse, port: int) -> int:
    """The pid of the process holding the server side of this WebSocket's connection (two
    web processes share the port)."""
    transport = ws._response.connection.transport if ws._response.connection else None
    assert transport is not None
    mine = transport.get_extra_info("sockname")[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if (int(local, 16), int(remote, 16)) == (port, mine):
            inodes.add(f"socket:[{fields[9]}]")
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if str(fd.readlink()) in inodes:
                return int(fd.parts[2])
    raise AssertionError(f"no process holds the feed's connection ({port} <- {mine})")


async def next_state(ws: aiohttp.ClientWebSocketResponse, state: str) -> dict[str, object]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == "event" and message["payload"].get("state") == state:
            return dict(message["payload"])


@contextlib.contextmanager
def floor(sandbox: Sandbox, workdir: Path, agents: list[str], *, first_phone: int,
          queue: dict[str, Any] | None = None, database: str | None = None,
          phone_lifetime: float = 180.0, phone_scenario: str = "agent-answer.xml",
          phone_keys: Mapping[str, str] | None = None) -> Iterator[Floor]:
    """A floor ready for `start` (on SQLite, or the `database` URL given; its desk phones run
    `phone_scenario` with `phone_keys` and answer for `phone_lifetime` seconds); at the end
    the process is stopped (killed if it hangs) and the phones are hung up."""
    url = database or f"sqlite+aiosqlite:///{workdir}/pbx.db"
    env = {**sandbox.app_env(), "PBX_DATABASE_URL": url,
           "PBX_WEB_ENABLED": "true", "PBX_WEB_PORT": str(free_port()),
           "PYTHONPATH": str(REPO)}  # the code of this checkout, whatever the venv installed
    prepare(env, workdir, queue)
    ports = [desk_phone_ports(first_phone + index) for index in range(len(agents))]
    ids = {username: record.user_id for username, record in added_agents(url, {
        username: f"sip:{username}@127.0.0.1:{sip_port}"
        for username, (sip_port, _) in zip(agents, ports, strict=True)}).items()}
    phones = [SippAgent(phone_scenario, sip_port=sip_port, media_port=media_port,
                        workdir=workdir, keys=phone_keys, lifetime=phone_lifetime)
              for sip_port, media_port in ports]
    center = Floor(env, workdir, ids, phones)
    try:
        yield center
    finally:
        if center.process is not None:
            center.process.terminate(15)
        for phone in phones:
            with contextlib.suppress(subprocess.TimeoutExpired):
                phone.stop()


def prepare(env: dict[str, str], workdir: Path, queue: dict[str, Any] | None = None, *,
            migrated: bool = False) -> None:
    """The database of `env`: migrated (unless `migrated`), the administrator, queue `sales`
    (settings given) and the line DID leading to it."""
    flow = workdir / "line.yaml"
    flow.write_text(FLOW)
    pbx_all(env, *([] if migrated else [["migrate"]]),
            ["user", "add", "admin", "--role", "admin", "--password", ADMIN_PASSWORD],
            ["queue", "set", "sales", "--strategy", "linear", "--settings",
             _json({"wrapup": 0, "ring_timeout": 10, **(queue or {})})],
            ["ivr", "apply", str(flow), "--user", "admin", "--no-sound-check"])


def added_agents(url: str, contacts: dict[str, str]) -> dict[str, AgentRecord]:
    """What `pbx user add NAME --role agent --password PASSWORD` then `pbx agent set NAME
    --queues sales:0 --contact CONTACT` store, for each agent in one go (two commands an agent
    cost seconds each on a loaded machine: 20 agents took minutes); username -> its record.
    A contact's `{endpoint}` is the agent's own endpoint (agent-ID, known once added). In a
    thread of its own: the caller may be running an event loop."""

    async def add() -> dict[str, AgentRecord]:
        db = Database.connect(url)
        try:
            hashed = hash_password(PASSWORD)  # one hash for all: the same password
            records = {}
            for username, contact in contacts.items():
                user = await Directory(db).add_user("default", username, Role.AGENT,
                                                    password_hash=hashed)
                records[username] = await AcdDirectory(db).save_agent(
                    user.id, queues={"sales": 0},
                    contact=contact.format(endpoint=f"agent-{user.id}"))
            return records
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, add()).result()


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value)


def settled(check: Any, within: float = 20.0) -> None:
    """Wait (bounded) until `check()` is true."""
    wait_until(check, within=within)
