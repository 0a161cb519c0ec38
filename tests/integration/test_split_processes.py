"""Web and Stasis as two `pbx run` processes sharing one database: people log in to the web
process, and what needs the telephony goes to the Stasis process over loopback HTTP. An admin
creates a queue (the ACD's owner stores it); live supervision and recording control reach the
Stasis process's Supervision and CallRecorder (their not-found comes back as 404, not the 503 of
a web process without them); a supervisor listens to a real call through the web process; with
the Stasis process gone the same routes answer 503. The event relay between the two is covered
in tests/unit/remote."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from faults_process import pbx_all
from pbxproc import PbxProcess, pbx_command
from polling import eventually
from ports import free_port
from sandbox import Sandbox, SippAgent, desk_phone_ports, run_sipp_async

pytestmark = pytest.mark.integration

UNKNOWN_CALL = "f" * 32
DID = "+15552000"
SALES_FLOW = f"""\
flows:
  sales:
    description: The split test's line
    dids: ["{DID}"]
    entry: to_sales
    nodes:
      to_sales: {{kind: queue, queue: sales}}
"""



def _environment(sandbox: Sandbox, tmp_path: Path, *more: list[str]) -> tuple[dict[str, str],
                                                                          list[str]]:
    """A migrated database with an admin `root`, then the `pbx` commands `more` (one process
    runs them all); the settings of both processes and what each of `more` printed."""
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    web_port, rpc_port = free_port(), free_port()
    env = {**sandbox.app_env(), "PBX_DATABASE_URL": url, "PBX_RPC_SECRET": "split-test",
           "PBX_RPC_URL": f"http://127.0.0.1:{rpc_port}", "PBX_WEB_PORT": str(web_port),
           "PBX_WEB_ENABLED": "true"}
    commands = [["migrate"], ["user", "add", "root", "--role", "admin", "--password", "pw-root-1"],
                *more]
    return env, pbx_all(env, *commands)[2:]


@dataclass
class Pair:
    stasis: PbxProcess
    web: PbxProcess
    base: str


@contextlib.contextmanager
def split_pair(env: dict[str, str], tmp_path: Path) -> Iterator[Pair]:
    """`pbx run --part stasis` and `pbx run --part web`, both ready; both must stop cleanly."""
    stasis = PbxProcess(env, tmp_path / "stasis.log", args=["run", "--part", "stasis"])
    web = PbxProcess(env, tmp_path / "web.log", args=["run", "--part", "web"])
    try:
        # (a start imports every feature: seconds of CPU, many more on a loaded machine)
        stasis.wait_for_log("serving the web process", 60)
        web.wait_for_log("relaying telephony events", 60)
        yield Pair(stasis, web, f"http://127.0.0.1:{env['PBX_WEB_PORT']}")
    finally:
        # Both stopped before either is judged: a Stasis process left running would hold the
        # ARI app's lock and fail every later test of the session.
        codes = web.terminate(), stasis.terminate()
        assert codes == (0, 0), (codes, web.log(), stasis.log())


class Browser:
    """A person logged in to the web process (session cookie and CSRF token)."""

    def __init__(self, client: aiohttp.ClientSession, csrf: dict[str, str], user_id: int
                 ) -> None:
        self.client = client
        self.csrf = csrf
        self.user_id = user_id

    async def call(self, method: str, path: str, json: Any = None
                   ) -> tuple[int, dict[str, Any]]:
        async with self.client.request(method, path, json=json, headers=self.csrf) as answer:
            body = await answer.json() if answer.status != 204 else {}
            return answer.status, body


@contextlib.asynccontextmanager
async def logged_in(base: str, username: str, password: str) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(
        base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as client:
        html = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, html
        login = await client.post("/login", allow_redirects=False, data={
            "tenant": "default", "username": username, "password": password,
            "csrf_token": token.group(1), "next": ""})
        assert login.status == 303, await login.text()
        me = await (await client.get("/api/me")).json()
        csrf = {"X-CSRF-Token": me["csrf_token"]} if "csrf_token" in me else {}
        yield Browser(client, csrf, int(me["user"]["id"]))


async def test_web_process_drives_the_stasis_process(private_sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    env, _ = _environment(private_sandbox, tmp_path)
    with split_pair(env, tmp_path) as pair:
        async with logged_in(pair.base, "root", "pw-root-1") as root:
            status, _ = await root.call("POST", "/api/queues", {
                "name": "split", "strategy": "ringall", "ring_timeout": 12})
            assert status in (200, 201)
            status, queues = await root.call("GET", "/api/queues")
            assert any(q["name"] == "split" and q["strategy"] == "ringall" for q in
                       (queues["queues"] if isinstance(queues, dict) else queues)), queues
            # Live supervision and recording control are answered by the Stasis process: it
            # has no such call (404), where a web process without them would say 503.
            assert await root.call("GET", "/api/supervision/calls") == (200, {"calls": []})
            assert await root.call("GET", "/api/supervision/sessions") == (
                200, {"sessions": []})
            assert await root.call("GET", "/api/supervision/history") == (
                200, {"segments": []})
            for method, path in (
                ("POST", f"/api/supervision/calls/{UNKNOWN_CALL}/listen"),
                ("DELETE", "/api/supervision/sessions/no-such-session"),
                ("GET", f"/api/calls/{UNKNOWN_CALL}/recording"),
                ("POST", f"/api/calls/{UNKNOWN_CALL}/recording/pause"),
            ):
                status, body = await root.call(method, path)
                assert (status, body.get("error")) == (404, "not-found"), (path, body)
            # The Stasis process goes away: the same routes say so (503), never 500.
            assert pair.stasis.terminate() == 0, pair.stasis.log()
            for method, path in (
                ("GET", "/api/supervision/calls"),
                ("POST", f"/api/supervision/calls/{UNKNOWN_CALL}/listen"),
                ("POST", f"/api/calls/{UNKNOWN_CALL}/recording/pause"),
            ):
                status, body = await root.call(method, path)
                assert status == 503, (path, body)
                assert "telephony process is not reachable" in body["message"], body
    # The queue went through the Stasis process (the ACD's owner) into the shared database.
    listed = pbx_command(["queue", "list"], env)
    assert "split\tringall" in listed.stdout, listed.stdout + listed.stderr


async def test_a_supervisor_listens_through_the_web_process(private_sandbox: Sandbox,
                                                           tmp_path: Path) -> None:
    """A caller reaches agent alice (a sipp desk phone) through the IVR and the ACD of the
    Stasis process; admin root (another desk phone) listens, whispers and stops from the web
    process, and the audit names root with root's line."""
    (alice_sip, alice_media), (root_sip, root_media) = desk_phone_ports(540), desk_phone_ports(541)
    flow = tmp_path / "sales.yaml"
    flow.write_text(SALES_FLOW)
    env, [*_, root_agent, _] = _environment(
        private_sandbox, tmp_path,
        ["user", "add", "alice", "--role", "agent", "--password", "pw-alice-1"],
        ["queue", "set", "sales", "--strategy", "ringall"],
        ["agent", "set", "alice", "--queues", "sales:0",
         "--contact", f"sip:alice@127.0.0.1:{alice_sip}"],
        ["agent", "set", "root", "--contact", f"sip:root@127.0.0.1:{root_sip}"],
        ["ivr", "apply", str(flow), "--user", "root", "--no-sound-check"])
    root_endpoint = re.search(r"endpoint (\S+),", root_agent)
    assert root_endpoint, root_agent
    phones = [SippAgent(sip_port=alice_sip, media_port=alice_media, workdir=tmp_path,
                        lifetime=90),
              SippAgent(sip_port=root_sip, media_port=root_media, workdir=tmp_path,
                        lifetime=90)]
    caller: asyncio.Task[Any] | None = None
    try:
        with split_pair(env, tmp_path) as pair:
            async with logged_in(pair.base, "alice", "pw-alice-1") as alice, \
                    logged_in(pair.base, "root", "pw-root-1") as root, \
                    root.client.ws_connect("/ws") as feed:
                # root's feed on the web process: the Stasis process's events, relayed.
                assert (await feed.receive_json(timeout=5))["type"] == "hello"
                await feed.send_json({"subscribe": ["call:*", "agent:state", "queue:stats"]})
                assert (await feed.receive_json(timeout=5))["type"] == "subscribed"
                status, body = await alice.call("PUT", "/api/me/agent/state",
                                                {"state": "available"})
                assert status == 200, body
                caller = asyncio.create_task(run_sipp_async(
                    "caller-hangs-up.xml", private_sandbox.sip_target, service=DID,
                    caller="+14155550199", keys={"talk_ms": "15000"}, timeout=40,
                    workdir=tmp_path))
                # Rung: alice's page asks for the call it is offered at once, from the web
                # process, while its row may still wait in the Stasis process's write-behind
                # queue (before: 404 until that queue's next commit).
                async with asyncio.timeout(20):
                    while True:
                        message = await feed.receive_json()
                        if message["type"] == "event" and message["topic"] == "call:incoming":
                            break
                status, script = await alice.call(
                    "GET", f"/api/calls/{message['payload']['call_id']}/script")
                assert status == 200, script

                async def supervisable() -> dict[str, Any]:
                    status, listed = await root.call("GET", "/api/supervision/calls")
                    assert status == 200, listed
                    return listed  # type: ignore[no-any-return]

                # until alice answers: a call to supervise
                listed = await eventually(supervisable, until=lambda listed: listed["calls"],
                                          within=20, every=0.2)
                [call] = listed["calls"]
                assert call["agent_user_id"] == alice.user_id and call["queue"] == "sales"
                call_id = call["call_id"]
                # The feed showed it as the pages read it: rung to alice (above), alice on the
                # call, the queue's figures.
                assert message["payload"]["agent_user_id"] == alice.user_id
                assert (message["payload"]["call_id"], message["payload"]["state"]) == (
                    call_id, "ringing")
                wanted = {
                    ("agent:state", call_id, alice.user_id, "on-call"),
                    ("queue:stats", "sales", 1),
                }
                async with asyncio.timeout(20):
                    while wanted:
                        message = await feed.receive_json()
                        if message["type"] != "event":
                            continue
                        topic, event = message["topic"], message["payload"]
                        if topic == "queue:stats":
                            wanted.discard((topic, event["queue"], event["offered_today"]))
                        else:
                            wanted.discard((topic, event.get("call_id"),
                                            event.get("agent_user_id", event.get("user_id")),
                                            event["state"]))
                status, started = await root.call(
                    "POST", f"/api/supervision/calls/{call_id}/listen")
                assert status == 201, (started, pair.stasis.log())
                session = started["session"]
                assert (session["mode"], session["supervisor_user_id"]) == (
                    "listen", root.user_id)
                status, switched = await root.call(
                    "POST", f"/api/supervision/sessions/{session['session_id']}/mode",
                    {"mode": "whisper"})
                assert (status, switched["session"]["mode"]) == (200, "whisper"), switched
                status, recording = await alice.call("GET", f"/api/calls/{call_id}/recording")
                assert (status, recording["recording"]["policy"]) == (200, "none"), recording
                status, _ = await root.call(
                    "DELETE", f"/api/supervision/sessions/{session['session_id']}")
                assert status == 204
                status, history = await root.call(
                    "GET", f"/api/supervision/history?call_id={call_id}")
                assert status == 200, history
                # Done: alice hangs up, through the web process too (else the caller talks on
                # to the end of its 15 s, and a stop under a call waits its grace).
                assert await alice.call("POST", f"/api/calls/{call_id}/hangup") == (204, {})
                await eventually(supervisable, until=lambda listed: not listed["calls"],
                                 within=10, every=0.2, what="the call ended")
        segments = sorted(history["segments"], key=lambda s: s["started_at"])
        assert [(s["mode"], s["end_reason"]) for s in segments] == [
            ("listen", "switched"), ("whisper", "stopped")], segments
        assert {(s["supervisor_user_id"], s["supervisor_line"]) for s in segments} == {
            (root.user_id, f"PJSIP/{root_endpoint.group(1)}")}
    finally:
        if caller is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(caller, 40)
        for phone in phones:
            await asyncio.to_thread(phone.stop)
