"""A browser agent on the cluster of scripts/cluster (issue 17), in a real Chromium: two Asterisk
nodes behind Kamailio, a controller (`pbx run --part stasis`, the role leased in PostgreSQL) and
two web processes on one port (`pbx run --part web`).

The agent page's softphone (JsSIP) registers at the edge's WebSocket, not with a node, and both
nodes reach it there (their qualify goes through the edge to the browser). Then the web process
of the browser's feed is killed (-9): the other one serves the feed within 5 s and a reload, the
agent's state intact, and the softphone, registered at the edge, never noticed.
Last, a caller from the carrier's address through the edge: a node answers it, queues it and
offers it to the browser (the node's INVITE goes through the edge's WebSocket to Chromium), the
agent answers on the page, audio flows both ways between the browser and the node, and the
caller hangs up. The tab closed, both nodes see the phone gone.
(A node's INVITE reaching a scripted WebSocket phone: tests/integration/test_cluster_live.py.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from opened import opened
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from cluster import CARRIER, Cluster, carrier_media_port
from pbxproc import PbxProcess
from pg import PostgresServer
from polling import eventually
from ports import free_port
from sandbox import run_sipp_async

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.bus import Bus
from pbx_stasis.ivr.service import IvrService
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.store.tables import Call as CallRow
from pbx_stasis.store.tables import CallEvent

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "correct horse battery"
DID, CALLER = "+14155550100", "+14155558000"
# The carrier's line: the DID straight to the queue.
LINE = (f'flows:\n  line:\n    description: the carrier\'s line\n    dids: ["{DID}"]\n'
        "    entry: q\n    nodes:\n      q: {kind: queue, queue: sales}\n")
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WEB_PROCESSES = 2
# Every text the page's feed status shows from now on (a reconnection can be brief).
WATCH_FEED_STATUS = """() => {
  const status = document.getElementById("feed-status");
  window.feedStatusSeen = [status.textContent];
  new MutationObserver(() => window.feedStatusSeen.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""


@dataclass
class Stack:
    cluster: Cluster
    db: Database
    base_url: str
    web_port: int
    workdir: Path
    endpoint: str  # the browser agent's SIP user
    user_id: int  # the browser agent's user
    webs: list[PbxProcess] = field(default_factory=list)

    async def call(self, call_id: str) -> CallRow | None:
        async with self.db.session() as session:
            return await session.get(CallRow, call_id, populate_existing=True)

    async def journal(self, call_id: str) -> list[CallEvent]:
        """The call's journal rows, as the controller process wrote them."""
        async with self.db.session() as session:
            return list(await session.scalars(
                select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)))

    def restart_web(self, index: int) -> PbxProcess:
        """Web process `index` started again (as scripts/cluster would), once it serves."""
        old = self.webs[index]
        again = PbxProcess(old.env, self.workdir / f"web-{index + 1}-again.log",
                           ["run", "--part", "web"])
        self.webs[index] = again
        again.wait_for_log("web pages at", 40)
        return again


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer,
                page_bundles: Path) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("cluster-browser")
    url = postgres.create_database("pbx_cluster_browser")  # empty, migrated below: see
    # test_cluster_live.py (a copy of the shared database would carry other tests' rows)
    await migrate.upgrade(url)
    db = Database.connect(url)
    directory = Directory(db)
    tenant = await directory.ensure_tenant("default")
    acd = AcdDirectory(db)
    # (a tenant without dispositions: wrap-up ends on its own timer)
    await acd.save_queue(tenant.id, "sales", {"ring_timeout": 20, "wrapup": 3})
    user = await directory.add_user("default", "alice", "agent", display_name="Alice Agent",
                                    password_hash=FAST_HASHER.hash(PASSWORD))
    agent = await acd.save_agent(user.id, queues={"sales": 0})  # a softphone (no contact)
    applied = await IvrService(db, Bus()).apply(tenant.id, [("line.yaml", LINE)], "test",
                                                check_sounds_on_asterisk=False)
    assert applied.ok, applied.problems
    cluster = await asyncio.to_thread(Cluster.start, workdir / "cluster", url)
    processes: list[PbxProcess] = []
    webs: list[PbxProcess] = []  # the Stack's own list: a web process started again replaces
    try:                          # its entry there, and is the one stopped below
        rpc = f"http://127.0.0.1:{free_port()}"
        web_port = free_port()
        env = {**cluster.app_env(), "PBX_RPC_SECRET": "s3cret-" + os.urandom(8).hex(),
               "PBX_RPC_URL": rpc, "PBX_WEB_PORT": str(web_port)}
        controller = PbxProcess(env, workdir / "controller.log", ["run", "--part", "stasis"])
        processes.append(controller)
        await asyncio.to_thread(controller.wait_for_log, "Asterisk node node2 connected", 40)
        await asyncio.to_thread(controller.wait_for_log, "Asterisk node node1 connected", 10)
        webs.extend(PbxProcess({**env, "PBX_WEB_ENABLED": "true"}, workdir / f"web-{i + 1}.log",
                               ["run", "--part", "web"]) for i in range(WEB_PROCESSES))
        for web in webs:
            await asyncio.to_thread(web.wait_for_log, "web pages at", 40)
        yield Stack(cluster, db, f"http://127.0.0.1:{web_port}", web_port, workdir,
                    agent.endpoint, user.id, webs)
    finally:
        for process in [*reversed(webs), *reversed(processes)]:
            await asyncio.to_thread(process.terminate, 10)
        await asyncio.to_thread(cluster.down)
        await db.dispose()
        postgres.drop_database(url)


async def log_in(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.base_url}/login")
    await page.fill("#tenant", "default")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_load_state("load")
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")


async def registered(page: Page) -> bool:
    value: bool = await page.evaluate("window.pbxSoftphone.registered")
    return value


async def nodes_reaching_the_phone(stack: Stack) -> set[str]:
    """The nodes whose endpoint of the agent is online: they qualified its contact at the
    edge (sip:<endpoint>@edge), which the edge passed to the browser, which answered."""
    env = stack.cluster.app_env()
    auth = aiohttp.encode_basic_auth(env["PBX_ARI_USER"], env["PBX_ARI_PASSWORD"])
    reaching: set[str] = set()
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:
        for item in env["PBX_ARI_NODES"].split(","):
            node, url = item.split("=", 1)
            async with session.get(f"{url}/ari/endpoints/PJSIP/{stack.endpoint}") as answer:
                if answer.status == 200 and (await answer.json())["state"] == "online":
                    reaching.add(node)
    return reaching


async def feed_status_seen(page: Page) -> list[str]:
    value: list[str] = await page.evaluate("window.feedStatusSeen")
    return value


async def test_a_browser_registers_at_the_edge_and_outlives_its_web_process(
    stack: Stack, browser: Browser
) -> None:
    async with opened(browser) as page:
        await log_in(page, stack)
        assert page.url.endswith("/agent")
        await eventually(lambda: registered(page), until=bool, within=10, every=0.1,
                         what="the softphone registered")
        await expect(page.get_by_test_id("sip-status")).to_have_text("Phone: ready")
        # registered at the edge (Kamailio's location table), not with a node
        assert stack.endpoint in await asyncio.to_thread(stack.cluster.registered)
        # each node finds the softphone by qualifying its contact at the edge (every 10 s)
        reaching: set[str] = await eventually(lambda: nodes_reaching_the_phone(stack),
                                              until=lambda nodes: len(nodes) == 2, within=15,
                                              every=0.25, what="both nodes' qualify of the "
                                              "softphone through the edge")
        assert reaching == set(stack.cluster.nodes)
        await page.select_option("#state-select", "available")
        await page.click("#apply-state")
        await expect(page.get_by_test_id("agent-state")).to_have_text("available")

        # the web process of the browser's feed dies (kill -9): the feed reconnects to the
        # other one within 5 s and a reload works, the agent's state intact
        status = page.get_by_test_id("feed-status")
        await page.evaluate(WATCH_FEED_STATUS)
        took = None
        for index in range(WEB_PROCESSES):  # which one holds the feed's socket: the one whose
            victim = stack.webs[index]  # death the page sees
            victim.proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await asyncio.to_thread(victim.proc.wait, 10)
            try:
                _seen: list[str] = await eventually(lambda: feed_status_seen(page),
                                                   until=lambda texts: "Reconnecting…" in texts,
                                                   within=2, every=0.05)
            except AssertionError:  # the feed was on the other: this one again, that one dies
                await asyncio.to_thread(stack.restart_web, index)
                continue
            await expect(status).to_have_text("Live", timeout=5_000)
            took = time.monotonic() - killed_at
            break
        assert took is not None, "no web process's death reached the page's feed"
        assert took < 5.0, f"the feed back in {took:.1f} s"
        assert await registered(page)  # the softphone's socket is the edge's: untouched
        await page.reload()
        await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
        await expect(page.get_by_test_id("agent-state")).to_have_text("available")
        await eventually(lambda: registered(page), until=bool, within=10, every=0.1,
                         what="the softphone registered again after the reload")



async def stats(page: Page) -> dict[str, int]:
    """The softphone's audio bytes in and out (the page's RTCPeerConnection getStats)."""
    value: dict[str, int] = await page.evaluate("window.pbxSoftphone.stats()")
    return value


async def test_a_carriers_caller_through_the_edge_talks_to_the_browser_agent(
    stack: Stack, browser: Browser
) -> None:
    """The whole path of a call on the cluster: carrier -> edge -> a node (dispatched) -> the
    queue -> the node's INVITE to the agent at the edge -> the edge's WebSocket -> Chromium.
    The caller echoes every RTP packet it gets (-rtp_echo) and sends nothing else, so audio
    the browser receives is its own microphone's, having reached the node and the caller."""
    async with opened(browser) as page:
        await log_in(page, stack)
        await eventually(lambda: registered(page), until=bool, within=10, every=0.1,
                         what="the softphone registered")
        # the caller's node offers it only if it reaches the phone (its qualify at the edge)
        await eventually(lambda: nodes_reaching_the_phone(stack),
                         until=lambda nodes: len(nodes) == 2, within=15, every=0.25,
                         what="both nodes reaching the softphone through the edge")
        if await page.get_by_test_id("agent-state").text_content() != "available":
            await page.select_option("#state-select", "available")
            await page.click("#apply-state")
        await expect(page.get_by_test_id("agent-state")).to_have_text("available")

        # the caller hangs up itself after 10 s of talk (from the node's answer, before the
        # queue): time to ring the browser, answer and hear both ways
        caller = asyncio.create_task(run_sipp_async(
            "caller-hangs-up.xml", stack.cluster.edge_sip, service=DID, caller=CALLER,
            local_address=CARRIER, media_port=carrier_media_port(), keys={"talk_ms": "10000"},
            extra_args=["-rtp_echo"], timeout=30, workdir=stack.workdir))
        try:
            box = page.get_by_test_id("call-box")
            await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
            await expect(page.get_by_test_id("caller-number")).to_have_text(CALLER)
            answer = page.get_by_test_id("answer")
            await expect(answer).to_be_enabled()  # the node's INVITE reached the softphone
            # the page's call (its id) comes on the feed, from the controller: it may follow
            # the node's INVITE by a moment
            call_id = await eventually(lambda: page.evaluate("window.pbxSoftphone.callId"),
                                       until=lambda value: isinstance(value, str) and value,
                                       within=5, every=0.1, what="the call on the agent's feed")
            assert isinstance(call_id, str)
            await answer.click()
            await expect(box).to_have_attribute("data-state", "talking")
            assert await page.evaluate("window.pbxSoftphone.callState") == "active"

            # the controller has the agent on the call (written by its process)
            connect = await eventually(
                lambda: stack.journal(call_id),
                until=lambda rows: any(r.event == "CONNECT" for r in rows), within=5,
                every=0.1, what="the CONNECT row")
            [row] = [r for r in connect if r.event == "CONNECT"]
            assert row.agent_user_id == stack.user_id and row.queue == "sales"
            record = await eventually(
                lambda: stack.call(call_id), until=lambda r: r is not None and (
                    r.agent_user_id, r.answered_at is not None) == (stack.user_id, True),
                within=5, every=0.1, what="the call's record with the agent")
            # a node answered the carrier's call (its channel's id is qualified by the node)
            assert record.channel_id.split("-", 1)[0] in stack.cluster.nodes, record.channel_id
            assert record.from_number == CALLER and record.ended_at is None

            # audio both ways: the browser's RTP reaches the node and the caller (echoed
            # back), the node's reaches the browser
            first = await eventually(lambda: stats(page), until=lambda s: (
                s["bytesReceived"] > 0 and s["bytesSent"] > 0), within=5, every=0.1,
                what="audio both ways on the page")
            await asyncio.sleep(1.0)  # a second of audio on purpose: the counters it moves
            later = await stats(page)
            assert later["bytesSent"] > first["bytesSent"], (first, later)
            assert later["bytesReceived"] > first["bytesReceived"], (first, later)

            # the caller hangs up: the call ends on the page, the agent goes to wrap-up
            result = await caller
            assert result.ok, result.describe()
        finally:
            if not caller.done():
                caller.cancel()
        await expect(box).to_have_attribute("data-state", "idle", timeout=5_000)
        assert await page.evaluate("window.pbxSoftphone.callState") in ("idle", "ended")
        state = page.get_by_test_id("agent-state")
        await expect(state).to_have_text("wrap-up")
        await expect(state).to_have_text("available", timeout=8_000)  # its 3 s over

    # the tab closed without unregistering: its contact stays at the edge (until it expires),
    # its WebSocket gone; the nodes' next qualify gets no answer, the phone is offline to them
    # (not offered calls it cannot take)
    await eventually(lambda: nodes_reaching_the_phone(stack), until=lambda nodes: not nodes,
                     within=16, every=0.25, what="the closed tab offline to both nodes")

    ended = await eventually(lambda: stack.call(call_id),
                             until=lambda r: r is not None and r.ended_at is not None,
                             within=5, every=0.1, what="the call's record ended")
    assert ended is not None and ended.agent_user_id == stack.user_id
    events = [r.event for r in await stack.journal(call_id)]
    story = [e for e in events if e in {"ENTERQUEUE", "OFFER", "CONNECT", "COMPLETECALLER",
                                        "COMPLETEAGENT", "WRAPUPSTART", "WRAPUPEND"}]
    assert story == ["ENTERQUEUE", "OFFER", "CONNECT", "COMPLETECALLER", "WRAPUPSTART",
                     "WRAPUPEND"], events
