"""Two Asterisk nodes behind Kamailio, one controller holding both (issue 17): callers from the
carrier through the edge reach agents registered at the edge, from either node; a node killed
with calls up takes only its own calls (recorded `node-lost`), new calls go to the other node,
agents stay registered and take them; the node back rejoins by itself (ARI and dispatcher).
Last, the controllers as scripts/cluster runs them: two `pbx run --part stasis` over both nodes,
the role leased in PostgreSQL (one pair for the last three tests): PostgreSQL restarted (15 s)
under callers through the edge, the role kept; node2 stopped with calls on it (`node-stopped`)
and started again; kill -9 the active one with a call talking through the edge."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from cluster import (
    CARRIER,
    Cluster,
    carrier_media_port,
    first_phone,
    next_request,
    node_of,
    registered_phone,
    sip_reply,
    stasis_controller,
    websocket_register,
)
from failover_checks import PER_CALL, judge
from faults_process import pbx_all
from pbxproc import PbxProcess
from pg import PostgresServer
from polling import eventually
from sandbox import SippAgent, SippResult, desk_phone_ports, run_sipp_async
from sqlalchemy import select

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.app import StasisApp
from pbx_stasis.ari import AriError
from pbx_stasis.ari.nodes import ClusterStreams
from pbx_stasis.bus import Bus
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call
from pbx_stasis.config import AriSettings, DatabaseSettings, EdgeSettings, Settings
from pbx_stasis.role.tables import ControllerLease
from pbx_stasis.store import Database, Directory, JournalEntry, migrate
from pbx_stasis.store.journal import _entry
from pbx_stasis.store.tables import Call as CallRow
from pbx_stasis.store.tables import CallEvent

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

DID = "+14155550100"
AGENTS = 2


@dataclass
class Stack:
    cluster: Cluster
    app: StasisApp
    db: Database
    workdir: Path
    phones: list[SippAgent]
    passwords: dict[str, str]
    app_running: bool = True

    async def calls(self) -> list[CallRow]:
        await self.app.db.writes.settle()
        async with self.db.session() as session:
            return list(await session.scalars(select(CallRow).order_by(CallRow.started_at)))

    async def journal(self, *events: str) -> list[JournalEntry]:
        """The journal's rows (of `events`), as the controllers' processes wrote them."""
        async with self.db.session() as session:
            return [_entry(row) for row in await session.scalars(
                select(CallEvent).where(CallEvent.event.in_(events)).order_by(CallEvent.id))]

    async def rows(self, event: str) -> list[CallEvent]:
        await self.app.db.writes.settle()
        async with self.db.session() as session:
            return list(await session.scalars(
                select(CallEvent).where(CallEvent.event == event).order_by(CallEvent.id)))

    def callers(self, count: int, number: str, scenario: str = "caller-hangs-up.xml",
                talk_ms: int = 2000, timeout: float = 30, at_once: int = AGENTS
                ) -> asyncio.Task[SippResult]:
        """`count` callers from the carrier through the edge (one sipp, 10 calls/s, no more
        than `at_once` at a time: by default as many as there are agents)."""
        return asyncio.create_task(run_sipp_async(
            scenario, self.cluster.edge_sip, service=DID, caller=number, calls=count,
            rate=10, max_concurrent=at_once, local_address=CARRIER,
            media_port=carrier_media_port(), keys={"talk_ms": str(talk_ms)}, timeout=timeout,
            workdir=self.workdir))


async def edge_flags(stack: Stack, node: str) -> str:
    return await asyncio.to_thread(stack.cluster.edge_flags, node)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory,
                postgres: PostgresServer) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("cluster")
    # PostgreSQL, as scripts/cluster runs it: the last test's controllers lease their role there.
    # A database of its own, migrated here: a copy of the session's migrated one would carry
    # the rows another test left in it at that moment (a call "chan-..." counted as ours).
    url = postgres.create_database("pbx_cluster")
    await migrate.upgrade(url)
    db = Database.connect(url)
    tenant = await Directory(db).ensure_tenant("default")
    directory = AcdDirectory(db)
    await directory.save_queue(tenant.id, "sales", {"strategy": "longest-idle"})
    cluster = await asyncio.to_thread(Cluster.start, workdir / "cluster", url)
    phones: list[SippAgent] = []
    app: StasisApp | None = None
    try:
        env = cluster.app_env()
        nodes = tuple(tuple(item.split("=", 1)) for item in env["PBX_ARI_NODES"].split(","))
        settings = Settings(
            ari=AriSettings(url=env["PBX_ARI_URL"], user="pbx", password=env["PBX_ARI_PASSWORD"],
                            nodes=nodes),  # type: ignore[arg-type]
            edge=EdgeSettings(sip=env["PBX_EDGE_SIP"], websocket=env["PBX_EDGE_WEBSOCKET"]),
            database=DatabaseSettings(url=url))

        async def queued(call: Call) -> None:
            await call.answer()
            await app_ref[0].acd.enqueue(call, QueueRequest("sales"))

        app_ref: list[StasisApp] = []
        app = StasisApp(settings, db, Bus(), script=queued)
        app_ref.append(app)
        first = first_phone()
        records = []
        for number in range(AGENTS):
            user = await Directory(db).add_user("default", f"agent{number}", "agent")
            endpoint = f"agent-{user.id}"
            record = await directory.save_agent(
                user.id, skills={}, queues={"sales": 0}, wrapup=0,
                contact=f"sip:{endpoint}@{cluster.edge_sip}")  # reached through the edge
            sip_port, media_port = desk_phone_ports(first + number)
            phones.append(await asyncio.to_thread(
                registered_phone, cluster, endpoint, record.sip_password, sip_port,
                media_port, workdir))
            records.append(record)
        await app.start()
        async with asyncio.timeout(20):
            await app.events.wait_connected()
        for record in records:
            await app.acd.save_agent(record)
            app.acd.login(record.agent_id)
        # an agent of the browser softphone (not logged in: takes no calls here)
        user = await Directory(db).add_user("default", "browser", "agent")
        browser = await directory.save_agent(user.id, skills={}, queues={"sales": 0})
        made = Stack(cluster, app, db, workdir, phones, {browser.endpoint: browser.sip_password})
        yield made
        if not made.app_running:
            app = None  # the last test stopped it
    finally:
        if app is not None:
            await app.stop(grace=1)  # the node1 talk left by the last test: no need to wait
        await asyncio.gather(*(asyncio.to_thread(phone.stop, 1) for phone in phones))
        await asyncio.to_thread(cluster.down)
        await db.dispose()
        postgres.drop_database(url)


async def node2_takes_calls_again(stack: Stack, caller: str) -> None:
    """node2, started again, is active at the edge and two new calls land one on each node."""
    await eventually(lambda: edge_flags(stack, "node2"),
                     until=lambda flags: str(flags).startswith("A"), within=10,
                     what="node2 active at the edge again")
    seen = {row.id for row in await stack.calls()}
    back = await stack.callers(2, caller)
    assert back.ok, back.describe()
    new = [row for row in await stack.calls() if row.id not in seen]
    assert {node_of(row) for row in new} == {"node1", "node2"}


async def test_callers_through_the_edge_reach_registered_agents_on_both_nodes(
        stack: Stack) -> None:
    assert len(stack.cluster.registered()) == AGENTS
    status = stack.cluster.status()
    assert all(status[node]["up"] and status[node]["edge"].startswith("A")
               for node in stack.cluster.nodes), status
    result = await stack.callers(4, "+14155551000")
    assert result.ok, result.describe()
    calls = await eventually(stack.calls, until=lambda rows: len(rows) >= 4 and all(
        row.ended_at for row in rows), within=15, what="4 calls ended")
    assert {node_of(row) for row in calls} == {"node1", "node2"}  # round robin over both
    assert len(await stack.rows("CONNECT")) == 4  # each talked to an agent
    assert all(row.hangup_cause_text != "node-lost" for row in calls)


async def test_a_browser_registers_over_websocket_with_its_own_credentials(
        stack: Stack) -> None:
    url = stack.cluster.app_env()["PBX_EDGE_WEBSOCKET"]
    endpoint, password = next(iter(stack.passwords.items()))
    assert await websocket_register(url, endpoint, "not-" + password) == 401
    assert await websocket_register(url, endpoint, password) == 200
    assert await websocket_register(url, "agent-999", password) == 401  # no such agent


async def test_a_nodes_call_reaches_a_browser_at_its_websocket(stack: Stack) -> None:
    """A node's INVITE to an agent registered over WebSocket goes out on that connection (the
    edge keeps where the REGISTER came from: the browser's own contact, xyz.invalid, cannot be
    reached as written), and the browser's answer gets back to the node."""
    url = stack.cluster.app_env()["PBX_EDGE_WEBSOCKET"]
    endpoint, password = next(iter(stack.passwords.items()))

    async def rung(socket_: aiohttp.ClientWebSocketResponse) -> None:
        # the node dials the agent at the edge (by the trunk: the agent's own endpoint waits for
        # its next qualify to see the browser there)
        channel = await stack.app.ari.channels.originate(
            f"PJSIP/trunk/sip:{endpoint}@{stack.cluster.edge_sip}",
            app=stack.app.settings.ari.app, dial_timeout=10)
        invite = await next_request(socket_, "INVITE")
        assert invite.startswith(f"INVITE sip:{endpoint}@browser.invalid;transport=ws "), invite
        await socket_.send_str(sip_reply(invite, 486, "Busy Here"))

        async def gone() -> bool:
            try:
                await stack.app.ari.channels.get(channel["id"])
            except AriError as missing:
                return missing.status == 404
            return False

        ended: bool = await eventually(gone, within=5,
                                       what="the node's call ended by the browser's 486")
        assert ended

    assert await websocket_register(url, endpoint, password, while_registered=rung) == 200


async def test_a_node_killed_with_calls_up(stack: Stack) -> None:
    before = {row.id for row in await stack.calls()}
    connects = len(await stack.rows("CONNECT"))
    # two long calls: round robin puts one on each node, each talking to an agent
    # (sipp gives up after 15 s: the test is done by then, and its thread must not outlive it)
    long_calls = stack.callers(2, "+14155552000", "caller-waits-bye.xml", timeout=15)
    await eventually(lambda: stack.rows("CONNECT"), until=lambda r: len(r) >= connects + 2,
                     within=15, what="both long calls talking")
    talking = [row for row in await stack.calls() if row.id not in before]
    assert {node_of(row) for row in talking} == {"node1", "node2"}

    await asyncio.to_thread(stack.cluster.kill_node, "node2")
    events = stack.app.events
    assert isinstance(events, ClusterStreams)
    async def ended() -> list[CallRow]:
        return [r for r in await stack.calls() if r.id not in before and r.ended_at]

    lost = await eventually(ended, until=lambda rows: len(rows) >= 1, within=10,
                            what="the node2 call ended")
    assert [(node_of(r), r.hangup_cause_text) for r in lost] == [("node2", "node-lost")]
    assert "node2" in events.lost

    # the edge takes node2 out; new callers are answered by node1 and talk to agents
    await eventually(lambda: edge_flags(stack, "node2"),
                     until=lambda flags: str(flags).startswith("I"), within=10,
                     what="node2 inactive at the edge")
    # nobody had to register again
    assert len(await asyncio.to_thread(stack.cluster.registered)) >= AGENTS
    seen = {row.id for row in await stack.calls()}
    after = await stack.callers(2, "+14155553000")
    assert after.ok, after.describe()
    new = [row for row in await stack.calls() if row.id not in seen]
    assert len(new) == 2 and {node_of(row) for row in new} == {"node1"}

    # the node1 call is still talking; node2 comes back and rejoins by itself
    await asyncio.to_thread(stack.cluster.start_node, "node2")
    await eventually(lambda: "node2" in events.connected_nodes(), until=bool, within=15,
                     what="the controller reconnected to node2")
    await node2_takes_calls_again(stack, "+14155554000")
    survivor = [row for row in await stack.calls() if row.id in {r.id for r in talking}
                and node_of(row) == "node1"]
    assert survivor and survivor[0].ended_at is None  # untouched by node2's death
    long_calls.cancel()  # its node2 call never ends for sipp (nobody is left to send a BYE)
    # its sipp gives up without a BYE: end the node1 talk, or its agent stays on it (the next
    # tests' controllers would adopt it) until Asterisk's RTP timeout
    await stack.app.ari.channels.hangup(survivor[0].channel_id)
    await eventually(stack.calls, until=lambda rows: all(
        r.ended_at for r in rows if r.id == survivor[0].id), within=10,
        what="the node1 talk ended")


async def test_a_nodes_outside_call_leaves_through_the_edge(stack: Stack) -> None:
    """Click-to-call on the cluster: the agent's phone (at the edge) rings first, then the
    number leaves the node by its trunk, which is the edge: Kamailio relays it to the carrier
    (whose address no node knows), which answers; the agent talks to it, then hangs up."""
    carrier = await asyncio.to_thread(
        SippAgent, "agent-answer.xml", sip_port=stack.cluster.carrier_port,
        media_port=carrier_media_port(), local_address=CARRIER, keys={"ring_ms": "200"},
        workdir=stack.workdir, lifetime=60)
    try:
        agent = next(a for a in stack.app.acd.agents.values() if a.contact)
        await stack.app.agent_calls.dial(agent, "+14155557000", "edgeoutcall01")
        await eventually(lambda: stack.rows("OUTCONNECT"), until=lambda rows: any(
            r.call_id == "edgeoutcall01" for r in rows), within=15,
            what="the carrier answered through the edge")
        await stack.app.acd.hangup("edgeoutcall01")
        await eventually(lambda: stack.rows("COMPLETEAGENT"), until=lambda rows: any(
            r.call_id == "edgeoutcall01" for r in rows), within=10, what="the call's end")
    finally:
        answered = await asyncio.to_thread(carrier.stop, 2)
    assert answered.successful == 1, answered.describe()
    [row] = [r for r in await stack.calls() if r.id == "edgeoutcall01"]
    assert row.ended_at is not None and row.to_number == "+14155557000"


@dataclass
class Controllers:
    """The controllers as scripts/cluster runs them: two `pbx run --part stasis`, each over both
    nodes, the role leased in PostgreSQL; `active` took it first, `standby` waits."""

    active: PbxProcess
    standby: PbxProcess
    rpc_urls: dict[PbxProcess, str]  # each one's RPC (its /readyz tells a standby)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def controllers(stack: Stack) -> AsyncIterator[Controllers]:
    """From here on (the file's last tests) the controller processes take over from the
    in-process one, which steps down for them; the line leads to the same queue."""
    await stack.app.stop(grace=1)
    stack.app_running = False
    env = {**stack.cluster.app_env(), "PBX_RPC_SECRET": secrets.token_urlsafe(16)}
    flow = stack.workdir / "line.yaml"  # the DID to the queue (the in-process app's script)
    flow.write_text(f"flows:\n  line:\n    description: the edge's line\n    dids: [\"{DID}\"]"
                    f"\n    entry: q\n    nodes:\n      q: {{kind: queue, queue: sales}}\n")
    await asyncio.to_thread(
        pbx_all, env, ["user", "add", "admin", "--role", "admin", "--password", "pw-admin-1"],
        ["ivr", "apply", str(flow), "--user", "admin", "--no-sound-check"])
    started: dict[PbxProcess, str] = {}

    def controller(index: int) -> PbxProcess:
        process, url = stasis_controller(env, stack.workdir / f"controller-{index}.log")
        started[process] = url
        return process

    try:
        active = controller(1)
        for node in stack.cluster.nodes:
            await asyncio.to_thread(active.wait_for_log, f"Asterisk node {node} connected", 30)
        standby = controller(2)
        await asyncio.to_thread(standby.wait_for_log, "standby for the controller role", 30)
        yield Controllers(active, standby, started)
    finally:
        for process in started:
            await asyncio.to_thread(process.terminate, 10)


async def role_of(url: str) -> str:
    """What a controller's own report says: `standby` (its /readyz names the reason it waits),
    `active` (anything else it answers: only the holder serves its RPC beside /readyz),
    `silent` (no answer within 4 s: its checks take 2 s at most)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=4)) as client, \
                client.get(f"{url}/readyz") as answer:
            report = await answer.json()
    except (aiohttp.ClientError, TimeoutError):
        return "silent"
    reasons = report.get("reasons") or []
    return "standby" if any(str(r).startswith("role: standby") for r in reasons) else "active"


async def lease(stack: Stack) -> tuple[str, int]:
    """The role's lease row: (holder, epoch)."""
    async with stack.db.session() as session:
        row = await session.scalar(select(ControllerLease))
    assert row is not None
    return row.holder, row.epoch


async def test_a_database_restart_of_15_s_under_the_cluster(
        stack: Stack, controllers: Controllers, postgres: PostgresServer) -> None:
    """PostgreSQL (the cluster's: the controllers' data and lease, the edge's credentials)
    stopped for 15 s while carriers' callers come through the edge: every call is answered and
    talks to an agent, its journal rows land once the database is back; the role never moves
    (one lease epoch, the standby's report `standby` throughout, the active one never
    fenced) and the edge checks an agent's credentials again."""
    active, standby = controllers.active, controllers.standby
    holder = await lease(stack)
    seen = {row.call_id for row in await stack.journal(  # the earlier tests' calls
        "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT")}
    reports: list[tuple[str, str]] = []

    async def watch() -> None:  # both controllers' own reports, every 0.5 s
        while True:
            mine, theirs = await asyncio.gather(*(role_of(controllers.rpc_urls[p])
                                                  for p in (active, standby)))
            reports.append((mine, theirs))
            await asyncio.sleep(0.5)

    watching = asyncio.create_task(watch())
    try:
        began = time.monotonic()
        with postgres.down(at_most=40):
            during = await stack.callers(4, "+14155558000")
            await asyncio.sleep(max(0.0, 15.0 - (time.monotonic() - began)))
        assert during.ok, during.describe()  # answered, talked, hung up by the callers
        async def stored() -> list[JournalEntry]:
            return [r for r in await stack.journal(
                "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "CALLEND")
                if r.call_id not in seen]

        new = await eventually(
            stored, until=lambda rows: len({r.call_id for r in rows
                                            if r.event.startswith("COMPLETE")}) >= 4,
            within=10, what="the outage's calls' rows stored once the database is back")
        await eventually(lambda: active.log(), until=lambda t: "confirmed again" in t,
                         within=10, what="the role confirmed again")
        await asyncio.sleep(1.0)  # a report or two after it
    finally:
        watching.cancel()
    entered = {r.call_id for r in new if r.event == "ENTERQUEUE"}
    assert len(entered) == 4 == len([r for r in new if r.event == "ENTERQUEUE"])
    assert sorted(r.call_id for r in new if r.event == "CONNECT") == sorted(entered)
    assert {r.call_id for r in new if r.event.startswith("COMPLETE")} == entered
    # one active controller throughout: the lease never moved, the standby said so all along
    assert await lease(stack) == holder
    assert len(reports) >= 15, reports
    assert {theirs for _, theirs in reports} == {"standby"}, reports
    assert "standby" not in {mine for mine, _ in reports}, reports
    assert "cannot be confirmed" in active.log()
    assert "role is lost" not in active.log()
    assert not re.search(r"controller role '[^']+' taken", standby.log())
    assert active.proc.poll() is None and standby.proc.poll() is None
    # the edge reads agents' credentials from the database again
    url = stack.cluster.app_env()["PBX_EDGE_WEBSOCKET"]
    endpoint, password = next(iter(stack.passwords.items()))
    assert await websocket_register(url, endpoint, password) == 200


async def test_an_asterisk_node_stopped_under_the_cluster(
        stack: Stack, controllers: Controllers) -> None:
    """`scripts/asterisk-sandbox stop` of node2 (Asterisk's `core stop now`) with a call
    talking on each node: node2's call ends, recorded with a cause that names its node's
    stop; callers arriving at once (before the edge's probes noticed) are answered by node1
    and talk to both agents, who stayed registered at the edge; node2 started again rejoins
    by itself (the active controller's ARI, the edge's set) and takes calls again."""
    active = controllers.active
    before = {row.id for row in await stack.calls()}
    connects = len(await stack.journal("CONNECT"))
    registered = await asyncio.to_thread(stack.cluster.registered)
    # two long calls, one on each node (round robin), each talking to an agent; the caller
    # hangs up after 20 s (node1's: about when the test is done), node2's is ended by its node
    long_calls = stack.callers(2, "+14155559000", talk_ms=20000, timeout=40)
    await eventually(lambda: stack.journal("CONNECT"), until=lambda r: len(r) >= connects + 2,
                     within=15, what="both long calls talking")
    talking = {row.id: node_of(row) for row in await stack.calls() if row.id not in before}
    assert sorted(talking.values()) == ["node1", "node2"]

    await asyncio.to_thread(stack.cluster.stop_node, "node2")
    stopped_at = time.monotonic()
    seen = {row.id for row in await stack.calls()}
    after = await stack.callers(2, "+14155559100")  # at once: the edge may not know yet
    answered_in = time.monotonic() - stopped_at
    [lost] = [row for row in await stack.calls() if talking.get(row.id) == "node2"]
    [end] = [r for r in await stack.journal("CALLEND") if r.call_id == lost.id]
    print(f"node2's call: cause {lost.hangup_cause} {lost.hangup_cause_text!r}, "
          f"by {end.data.get('by')}; 2 new callers done {answered_in:.1f} s after the stop")
    assert after.ok, after.describe()
    new = [row for row in await stack.calls() if row.id not in seen]
    assert len(new) == 2 and {node_of(row) for row in new} == {"node1"}, new
    # node1's talk keeps its agent: the agent of node2's call, free again, takes both in turn
    agents_taking = {r.agent_user_id for r in await stack.journal("CONNECT")
                     if r.call_id in {row.id for row in new}}
    assert agents_taking == {lost.agent_user_id}, (agents_taking, lost)
    assert await asyncio.to_thread(stack.cluster.registered) == registered
    assert lost.ended_at is not None
    assert (lost.hangup_cause_text, end.data.get("by")) == ("node-stopped", "system")
    # Now, while its caller talks on (20 s: on a busy machine the rest of the test may outlast
    # that, and the call then ends as its caller hangs up).
    [survivor] = [row for row in await stack.calls() if talking.get(row.id) == "node1"]
    assert survivor.ended_at is None  # untouched by node2's stop
    await eventually(lambda: edge_flags(stack, "node2"),
                     until=lambda flags: str(flags).startswith("I"), within=10,
                     what="node2 inactive at the edge")

    await asyncio.to_thread(stack.cluster.start_node, "node2")
    await asyncio.to_thread(active.wait_for_log, "Asterisk node node2 connected", 15, 2)
    await node2_takes_calls_again(stack, "+14155559200")
    long_calls.cancel()  # its thread's sipp: node1's caller hangs up by itself


async def test_the_active_controller_killed_with_calls_through_the_edge(
        stack: Stack, controllers: Controllers) -> None:
    """kill -9 the active controller while two callers talk through the edge (the dispatcher
    sends them to both nodes) and two more wait: every call goes on, the standby connects to
    both nodes within 5 s and resyncs, each talk is adopted once and its end recorded once,
    the waiters are offered when the talks end, with their original wait, and a new caller
    reaches an agent. Before: the two nodes' resyncs ran at once and carried talks over twice
    (CONNECT and COMPLETECALLER x2), and a waiter's queue bridge was made on the other node
    ("Channel not found": the caller was hung up)."""
    active, standby = controllers.active, controllers.standby
    # the earlier tests' calls over (the node stop's talk on node1 holds an agent for 20 s)
    await eventually(stack.calls, until=lambda rows: all(row.ended_at for row in rows),
                     within=30, what="the earlier calls ended")
    seen = {row.call_id for row in await stack.journal(  # the earlier tests' calls
        "ENTERQUEUE", "OUTDIAL", "COMPLETECALLER", "COMPLETEAGENT")}

    async def new(event: str, count: int, what: str) -> set[str]:
        rows = await eventually(lambda: stack.journal(event),
                                until=lambda rows: len({r.call_id for r in rows} - seen) >= count,
                                within=15, what=what)
        return {r.call_id for r in rows if r.call_id} - seen

    talking = stack.callers(2, "+14155555000", talk_ms=8000, timeout=40)
    talks = await new("CONNECT", 2, "both calls through the edge talking")
    # the waiters: answered at once, they hang up 12 s later (4 s after an agent took them)
    waiting = stack.callers(2, "+14155555100", talk_ms=12000, timeout=50, at_once=2)
    entered = await new("ENTERQUEUE", 4, "two more callers waiting")
    await asyncio.sleep(1.0)  # they have waited a while

    active.proc.kill()  # kill -9: no goodbye to Asterisk or PostgreSQL
    killed_at = time.monotonic()
    await asyncio.to_thread(active.proc.wait, 10)
    await asyncio.to_thread(standby.wait_for_log, "Asterisk node node2 connected", 10)
    await asyncio.to_thread(standby.wait_for_log, "Asterisk node node1 connected", 10)
    took = time.monotonic() - killed_at
    assert took < 5.0, f"takeover in {took:.1f} s"

    for kept in (await talking, await waiting):  # a BYE from us fails them
        assert kept.ok, kept.describe()
    calls = {row.id: row for row in await stack.calls()}
    assert {node_of(calls[call]) for call in entered} == {"node1", "node2"}
    await new("COMPLETECALLER", 4, "the four calls' ends in the journal")
    verdict = judge(await stack.journal(*PER_CALL, "OFFER", "ADOPTED"), entered,
                    entered - talks)
    assert not verdict.faults, verdict.faults
    assert verdict.waits_kept == 2
    after = await stack.callers(1, "+14155556000", talk_ms=1000)
    assert after.ok, after.describe()
