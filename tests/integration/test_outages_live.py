"""Faults injected into the real stack (sandbox Asterisk, sipp, PostgreSQL), each bounded: the
database stopped while the ARI link comes back and calls keep arriving, the web API during the
same outage, Asterisk shutting down under a conversation, callers whose audio stops. What must
hold: callers are answered without waiting on the database, their rows are all there once it is
back, every call's end is recorded with its real cause and side, and nothing false is recorded
(no "recording failed" where nothing records)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from callcenter import CallCenter, call_center, connected_call, enqueue_into
from pbxproc import PbxProcess, pbx_command
from pg import PostgresServer
from polling import eventually
from ports import free_port
from sandbox import Sandbox, SandboxError, run_sipp_async
from sqlalchemy import select

from pbx_stasis.ari import AriClient
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.dialing import DialPolicies
from pbx_stasis.recording import PolicyMode, RecordingPolicy
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.store import Database, Directory, StoreUnavailable
from pbx_stasis.store.tables import Call
from pbx_stasis.transfer.outside import TrunkLine
from pbx_stasis.web.sessions import COOKIE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def short_rtp_timeout() -> Iterator[Sandbox]:
    """A sandbox instance of its own whose trunk ends a call after 3 s without RTP (60 s as
    shipped: no test call is that long, but it would make this test slow)."""
    try:
        instance = Sandbox.private("rtp", rtp_timeout=RTP_TIMEOUT_S)
        instance.start()
    except SandboxError as problem:
        pytest.fail(str(problem), pytrace=False)
    try:
        yield instance
    finally:
        instance.discard()


RTP_TIMEOUT_S = 3


# The callers this file's tests place (one each).
OUR_CALLERS = {"+15550120", "+15550121", "+15550122", "+15550123", "+15550124", "+15550125"}


async def _calls(center: CallCenter) -> list[Call]:
    """The calls this test placed, not others a (re)connect finds in the session's shared
    sandbox and records: channels an earlier test left in Stasis (a call that entered while the
    app was away is served) or its AstDB lines (callers refused while an app was away)."""
    await center.app.db.writes.settle()
    async with center.db.session() as session:
        calls = list(await session.scalars(select(Call).order_by(Call.started_at)))
    return [call for call in calls if call.from_number in OUR_CALLERS]


async def _reconnected(center: CallCenter, sandbox: Sandbox) -> None:
    """Asterisk restarts under the app: its ARI link drops, and comes back once the app has
    resynced (the hook a database outage used to hold up)."""
    before = center.app.events.stats.connects
    await asyncio.to_thread(sandbox.restart)
    await eventually(lambda: center.app.events.stats.connects > before and
                     center.app.events.connected, within=20, what="the ARI link back")


async def test_calls_are_answered_while_the_database_is_down_after_a_reconnect(
    private_sandbox: Sandbox, postgres: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales"), database_url=pg_url) as center:
        agent = await center.add_agent("alice", 120)
        with postgres.down(at_most=45):
            await _reconnected(center, private_sandbox)
            placed_at = datetime.now(UTC)
            began = time.monotonic()
            result = await run_sipp_async("caller-hangs-up.xml", private_sandbox.sip_target,
                                          caller="+15550120", keys={"talk_ms": "1000"},
                                          timeout=20)
            took = time.monotonic() - began
            assert result.ok, result.describe()
            # Answered by the agent and talked 1 s: nothing waited for the database.
            assert took < 4, f"the call took {took:.1f} s with the database down"
            await eventually(lambda: center.app.router.live_calls, until=lambda n: n == 0,
                             within=10, what="the call's task ended")
        print(f"call placed during the outage: {took:.2f} s from INVITE to BYE (1 s talk)")
        # The database is back: the rows queued meanwhile are stored, complete.
        await eventually(lambda: center.app.db.writes.pending, until=lambda n: n == 0,
                         within=40, what="queued writes stored")
        await center.app.recorder.drain()
        calls = await _calls(center)
        assert len(calls) == 1, [(c.from_number, c.to_number, c.status, c.channel_id)
                                 for c in calls]
        [call] = calls
        assert call.status == "ended" and call.answered_at is not None
        assert call.agent_user_id == agent.user_id
        answer_delay = (call.answered_at - placed_at).total_seconds()
        print(f"answered {answer_delay:.3f} s after the INVITE, database down")
        assert answer_delay < 1.5
        assert call.hangup_cause == 16
        events = [r.event for r in await center.journal()]
        assert {"CALLSTART", "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "CALLEND"} <= set(events)
        # No recording is configured: nothing failed to record.
        assert "RECORDFAILED" not in events
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "caller" and end.data["cause"] == 16


async def test_caller_hanging_up_after_talking_is_recorded_with_the_cause(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        await center.add_agent("carol", 121)
        result = await run_sipp_async("caller-hangs-up.xml", private_sandbox.sip_target,
                                      caller="+15550121", keys={"talk_ms": "1000"}, timeout=20)
        assert result.ok, result.describe()
        await center.idle()
        [call] = await _calls(center)
        assert (call.hangup_cause, call.hangup_cause_text) == (16, "Normal Clearing")
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "caller" and end.data["cause"] == 16


async def test_agent_hanging_up_is_recorded_as_the_agent(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        await center.add_agent("dave", 122, scenario="agent-answer-hangs-up.xml",
                               keys={"talk_ms": "1000"})
        result = await run_sipp_async("caller-waits-bye.xml", private_sandbox.sip_target,
                                      caller="+15550122", timeout=20)
        assert result.ok, result.describe()
        await center.idle()
        [call] = await _calls(center)
        assert call.hangup_cause == 16
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "agent"


async def test_a_caller_the_acd_releases_is_recorded_as_ended_by_the_app(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The hangup button on a caller no agent has yet: the ACD hangs the caller's channel up
    from outside the call's script (before: recorded as `system`, Asterisk's own hangup)."""
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        caller = asyncio.create_task(run_sipp_async(
            "caller-waits-bye.xml", private_sandbox.sip_target, caller="+15550125", timeout=30))
        [entered] = await center.wait_for("ENTERQUEUE")
        assert entered.call_id is not None
        await center.app.acd.hangup(entered.call_id)
        assert (await caller).ok
        await center.idle()
        [call] = [c for c in await _calls(center) if c.from_number == "+15550125"]
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "app", end.data
        assert call.hangup_cause == 16, end.data


async def test_asterisk_shutting_down_is_not_the_caller_hanging_up(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        await center.add_agent("erin", 123)
        caller = asyncio.create_task(run_sipp_async(
            "caller-waits-bye.xml", private_sandbox.sip_target, caller="+15550123", timeout=30))
        await connected_call(center)
        await asyncio.to_thread(private_sandbox.restart)
        await caller
        await center.idle(within=30)
        [call] = await _calls(center)
        assert call.status == "ended"
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "system", end.data
        assert call.hangup_cause is not None, end.data



async def test_a_waiting_caller_whose_audio_stops_is_ended_and_recorded(
    short_rtp_timeout: Sandbox, tmp_path: Path
) -> None:
    # Nobody to answer: the caller waits in the queue with music, until their phone goes dead.
    async with call_center(short_rtp_timeout, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        began = time.monotonic()
        result = await run_sipp_async("caller-goes-silent.xml", short_rtp_timeout.sip_target,
                                      caller="+15550124", timeout=20)
        took = time.monotonic() - began
        assert result.ok, result.describe()  # Asterisk sent the BYE
        assert RTP_TIMEOUT_S <= took < RTP_TIMEOUT_S + 4, took
        await center.idle()
        [call] = await _calls(center)
        assert call.status == "ended"
        # Q.850 44 is what Asterisk gives an RTP timeout; Asterisk ended it, not the caller.
        assert (call.hangup_cause, call.hangup_cause_text) == (
            44, "Requested channel not available")
        [end] = [r for r in await center.journal("CALLEND") if r.call_id == call.id]
        assert end.data["by"] == "system"
        assert [r.event for r in await center.journal("ENTERQUEUE", "ABANDON")
                if r.call_id == call.id] == [
            "ENTERQUEUE", "ABANDON"]



async def test_pbx_run_starts_while_the_database_is_down(
    private_sandbox: Sandbox, postgres: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    """Before: one error line and exit. Now it starts, the web answers 503 with a reason, and
    the app serves calls once the database answers."""
    port = free_port()
    env = {**private_sandbox.app_env(), "PBX_DATABASE_URL": pg_url, "PBX_WEB_ENABLED": "true",
           "PBX_WEB_PORT": str(port)}
    with postgres.down(at_most=60):
        app = PbxProcess(env, tmp_path / "pbx.log")
        try:
            app.wait_for_log("the database does not answer")
            app.wait_for_log("web pages at")
            assert app.proc.poll() is None, app.log()
            async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as client:
                async with client.get("/api/me", headers={"Cookie": f"{COOKIE}=x"}) as answer:
                    assert answer.status == 503, await answer.text()
                    assert (await answer.json())["error"] == "database-unavailable"
        except BaseException:
            app.terminate()
            raise
    try:
        app.wait_for_log("ARI events connected", timeout=40)
        result = await run_sipp_async("caller-waits-bye.xml", private_sandbox.sip_target,
                                      service="5551000", timeout=20)
        assert result.ok, result.describe()
    finally:
        assert app.terminate() == 0, app.log()
    assert "Traceback" not in app.log(), app.log()


async def test_the_web_api_answers_503_while_the_database_is_down(
    private_sandbox: Sandbox, postgres: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**private_sandbox.app_env(), "PBX_DATABASE_URL": pg_url, "PBX_WEB_ENABLED": "true",
           "PBX_WEB_PORT": str(port)}
    added = pbx_command(["user", "add", "root", "--role", "admin", "--password", "pw-root-1"],
                        env)
    assert added.returncode == 0, added.stderr
    app = PbxProcess(env, tmp_path / "pbx.log")
    try:
        app.wait_for_log("ARI events connected")
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as client:
            html = await (await client.get("/login")).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)
            assert token, html
            login = await client.post("/login", allow_redirects=False, data={
                "tenant": "default", "username": "root", "password": "pw-root-1",
                "csrf_token": token.group(1), "next": ""})
            assert login.status == 303, await login.text()
            assert (await client.get("/api/users")).status == 200
            with postgres.down(at_most=30):
                answers = []
                for _ in range(3):
                    async with client.get("/api/users") as answer:
                        answers.append((answer.status, answer.headers.get("Retry-After"),
                                        await answer.json()))
            for status, retry_after, body in answers:
                assert (status, retry_after, body["error"]) == (
                    503, "5", "database-unavailable"), body
            # Back: the same session works again (the pool reconnects).
            async def users() -> int:
                async with client.get("/api/users") as answer:
                    return answer.status
            await eventually(users, until=lambda status: status == 200, within=15)
    finally:
        assert app.terminate() == 0, app.log()
    log = app.log()
    assert "Traceback" not in log, log[-3000:]
    assert log.count("GET /api/users: 503") == 3, log[-3000:]
    assert log.count("IVR versions: ") <= 1, log[-3000:]  # once per outage


async def test_what_a_call_reads_is_known_through_an_outage(
    postgres: PostgresServer, pg_url: str
) -> None:
    """Bounded reads with the last value read: a queue's recording policy (all loaded at start:
    a queue without one records nothing), a tenant's dialling policy (none read yet: refused,
    never waited for)."""
    db = Database.connect(pg_url)
    blind = Database.connect(pg_url)  # a process that never read anything
    ari = AriClient("http://127.0.0.1:9/ari", "none", "none")
    try:
        tenant = (await Directory(db).ensure_default_tenant()).id
        recording = RecordingPolicies(db)
        await recording.set_policy(tenant, "sales", RecordingPolicy(PolicyMode.ALL))
        await recording.load()
        dialing = DialPolicies(db, "US")
        await dialing.policy(tenant)
        line = TrunkLine(ari, CallRouter(_no_call), "pbx", DialPolicies(blind, "US"))
        with postgres.down(at_most=20):
            began = time.monotonic()
            assert await recording.policy(tenant, "sales") == RecordingPolicy(PolicyMode.ALL)
            assert await recording.policy(tenant, "billing") == RecordingPolicy()
            with pytest.raises(StoreUnavailable):
                await RecordingPolicies(blind).policy(tenant, "sales")
            verdict = await dialing.judge(tenant, "+14155550100", role=None, last_known_ok=True)
            assert verdict.allowed
            with pytest.raises(StoreUnavailable):  # the admin's view: no stale answer
                await dialing.policy(tenant)
            refused = await line.permit(tenant, "+14155550100", None)
            assert (refused.allowed, refused.reason) == (False, "unavailable")
            assert time.monotonic() - began < 10
    finally:
        await ari.close()
        await blind.dispose()
        await db.dispose()


async def _no_call(*_: object) -> None:
    raise AssertionError("no call expected")
