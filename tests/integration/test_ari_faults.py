"""Faults on the ARI connection of a real `pbx run` (tests/integration/faults_ari.py cuts or
silences it): a silent socket is found within seconds, and calls that arrive while the app is
away are served once it is back, never hung up as leftovers."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from callcenter import call_center, enqueue_into
from faults_ari import AriProxy
from pbxproc import PbxProcess, calls_in, pbx_command
from polling import wait_until
from sandbox import Sandbox, SippResult, run_sipp, run_sipp_async

from pbx_stasis.reports.core import fold

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

GREETED = ["CALLSTART", "ANSWER", "PLAYBACK_START", "PLAYBACK_FINISHED", "CALLEND"]
AWAY_FLOW = """\
flows:
  sales_line:
    description: A line straight to the sales queue
    dids: ["5551234"]
    entry: mark
    nodes:
      mark: {kind: set, variables: {line: "sales"}, next: to_sales}
      to_sales: {kind: queue, queue: sales}
"""


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    done = pbx_command(["migrate"], {"PBX_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    return {"PBX_DATABASE_URL": url}


@pytest.fixture
def proxy(private_sandbox: Sandbox) -> Iterator[AriProxy]:
    with AriProxy(private_sandbox.ari_url) as instance:
        yield instance


def _app(sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], log: Path,
         **more: str) -> PbxProcess:
    env = {**sandbox.app_env(), "PBX_ARI_URL": proxy.url, **db_env, **more,
           "PYTHONPATH": str(REPO)}  # this checkout's code, whatever the venv installed
    app = PbxProcess(env, log)
    app.wait_for_log("ARI events connected")
    return app


def _call_in_background(sandbox: Sandbox, results: list[SippResult]) -> threading.Thread:
    def call() -> None:
        results.append(run_sipp("caller-waits-bye.xml", sandbox.sip_target, service="5551000",
                                timeout=25))

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_silent_socket_is_dropped_within_seconds_and_its_calls_are_served(
    private_sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = _app(private_sandbox, proxy, db_env, tmp_path / "pbx.log")
    results: list[SippResult] = []
    try:
        proxy.silence(5.0)
        silent_at = time.monotonic()
        time.sleep(0.3)
        # Asterisk still holds the app (its socket looks fine): the call enters Stasis and its
        # StasisStart goes into the black hole.
        caller = _call_in_background(private_sandbox, results)
        app.wait_for_log("No PONG", timeout=4.5)
        detected = time.monotonic() - silent_at
        assert proxy.silent, f"the silent socket was only noticed after {detected:.1f} s"
        caller.join(30)
        assert results and results[0].ok, results[0].describe() if results else "no sipp"
    finally:
        assert app.terminate() == 0, app.log()
    [(record, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert [entry.event for entry in journal] == GREETED, app.log()
    assert record.status == "ended" and record.answered_at is not None
    print(f"silent socket detected after {detected:.2f} s")


def test_a_prompt_that_ends_while_the_socket_is_silent_still_lets_the_call_go_on(
    private_sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], tmp_path: Path
) -> None:
    """Asterisk sends a prompt's end once: when it falls into a silence of the ARI sockets, the
    resync after the reconnect finds the playback gone and hands the call the end it missed,
    so the call goes on (here: hangs up after the greeting) instead of waiting in silence
    until the caller gives up. Seen under load: heartbeats missed, sockets dropped."""
    # agent-user: a 4.9 s prompt, so its end falls inside the silence.
    app = _app(private_sandbox, proxy, db_env, tmp_path / "pbx.log", PBX_GREETING="agent-user")
    results: list[SippResult] = []
    try:
        caller = _call_in_background(private_sandbox, results)
        wait_until(lambda: [e.event for _, j in calls_in(db_env["PBX_DATABASE_URL"]) for e in j],
                   until=lambda events: "PLAYBACK_START" in events, within=10,
                   what="the greeting starts")
        time.sleep(2.0)  # on purpose: into the prompt, ~2.9 s before its end
        proxy.silence(4.0)
        caller.join(30)
        assert results and results[0].ok, results[0].describe() if results else "no sipp"
        app.wait_for_log("ends_missed=1", timeout=5)
    finally:
        assert app.terminate() == 0, app.log()
    [(record, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert [entry.event for entry in journal] == GREETED, app.log()
    assert record.status == "ended"
    assert journal[-1].data["by"] == "app"  # the greeting ended: the app hung up


async def test_an_agent_answering_while_the_socket_is_silent_is_connected(
    private_sandbox: Sandbox, proxy: AriProxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent's leg enters Stasis when the agent answers, and Asterisk sends that
    StasisStart once: when it falls into a silence of the ARI sockets, the resync after the
    reconnect finds the leg in the app and hands it the start it missed, so the caller is
    connected at once instead of the agent talking to nobody until the offer's ring timeout
    hangs them up and counts them as missing the call."""
    caplog.set_level(logging.INFO, logger="pbx_stasis.calls.resync")
    queues = {"sales": {"strategy": "linear", "agent_order": [], "ring_timeout": 20}}
    async with call_center(private_sandbox, tmp_path, queues,
                           script=enqueue_into("sales", answer=False),  # answered on connect
                           ari_url=proxy.url) as center:
        # The desk phone answers 3 s after it rings: inside the 5 s silence below, which
        # starts once the offer is seen in the journal (well within those 3 s).
        await center.add_agent("alice", 700, keys={"ring_ms": "3000", "talk_ms": "20000"})
        caller = asyncio.create_task(run_sipp_async(
            "caller-hangs-up.xml", private_sandbox.sip_target, caller="+15550007",
            keys={"talk_ms": "2000"}, timeout=30))
        await center.wait_for("OFFER", within=10)
        proxy.silence(5.0)
        result = await caller
        assert result.ok, result.describe()
        await center.idle()
        rows = await center.journal("OFFER", "RINGNOANSWER", "CONNECT", "COMPLETECALLER")
        assert [r.event for r in rows] == ["OFFER", "CONNECT", "COMPLETECALLER"], rows
        assert rows[2].data["talk"] > 1.5
    assert "starts_missed=1" in caplog.text, caplog.text


def _direct_app(sandbox: Sandbox, db_env: dict[str, str], log: Path) -> PbxProcess:
    env = {**sandbox.app_env(), **db_env, "PYTHONPATH": str(REPO)}
    app = PbxProcess(env, log)
    app.wait_for_log("ARI events connected")
    return app


def _greeted_call(sandbox: Sandbox) -> None:
    result = run_sipp("caller-waits-bye.xml", sandbox.sip_target, service="5551000", timeout=15)
    assert result.ok, result.describe()


def test_second_pbx_run_refuses_to_take_the_app_and_the_first_keeps_serving(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    first = _direct_app(private_sandbox, db_env, tmp_path / "first.log")
    second = PbxProcess({**private_sandbox.app_env(), **db_env, "PYTHONPATH": str(REPO)},
                        tmp_path / "second.log")
    try:
        try:
            code = second.proc.wait(15)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 1, f"the second pbx run kept running:\n{second.log()}"
        assert "holds the ARI application 'pbx'" in second.log(), second.log()
        assert "ARI events connected" not in second.log()
        _greeted_call(private_sandbox)  # the first one still hears its calls
    finally:
        second.terminate()
        assert first.terminate() == 0, first.log()
    [(_, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert [entry.event for entry in journal] == GREETED


def test_the_lock_goes_with_a_killed_process(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    killed = _direct_app(private_sandbox, db_env, tmp_path / "killed.log")
    killed.terminate(how=signal.SIGKILL)
    after = _direct_app(private_sandbox, db_env, tmp_path / "after.log")
    try:
        _greeted_call(private_sandbox)
    finally:
        assert after.terminate() == 0, after.log()


def test_an_app_taken_over_by_another_connection_exits_loudly(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = _direct_app(private_sandbox, db_env, tmp_path / "pbx.log")

    async def take_over() -> None:
        auth = aiohttp.encode_basic_auth(private_sandbox.user, private_sandbox.password)
        async with aiohttp.ClientSession() as session, session.ws_connect(
                private_sandbox.events_url, params={"app": "pbx"},
                headers={"Authorization": auth}):
            # The usurper stays connected until the app has noticed and stopped.
            await asyncio.to_thread(app.proc.wait, 15)

    try:
        asyncio.run(take_over())
        assert app.proc.returncode == 1, f"it kept running deaf:\n{app.log()}"
        assert "took over the ARI application 'pbx'" in app.log()
    finally:
        app.terminate()


@pytest.fixture
def hold_for(private_sandbox: Sandbox) -> Iterator[Callable[[int], None]]:
    """Sets the dialplan's hold (PBX_AWAY_HOLD_S, a global variable) for one test."""

    def hold(seconds: int) -> None:
        private_sandbox.ari("POST", f"asterisk/variable?variable=PBX_AWAY_HOLD_S&value={seconds}")

    yield hold
    hold(30)  # the dialplan's own default


def test_caller_is_held_while_the_app_is_away_and_served_when_it_is_back(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path,
    hold_for: Callable[[int], None],
) -> None:
    hold_for(10)
    results: list[SippResult] = []
    called_at = time.monotonic()
    caller = _call_in_background(private_sandbox, results)  # no pbx run at all
    time.sleep(3)
    assert not results, results[0].describe()  # still held (ringing), not refused
    app = _direct_app(private_sandbox, db_env, tmp_path / "pbx.log")
    try:
        caller.join(30)
        held = time.monotonic() - called_at
        assert results and results[0].ok, results[0].describe() if results else "no sipp"
    finally:
        assert app.terminate() == 0, app.log()
    [(_, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert [entry.event for entry in journal] == GREETED, app.log()
    print(f"caller held {held:.1f} s in all (app away ~3 s), then greeted")


def test_a_caller_refused_after_the_hold_is_recorded(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path,
    hold_for: Callable[[int], None],
) -> None:
    # The number leads to the sales queue with no choice on the way: the refused call counts
    # there, offered and unanswered (away), in the reports and the wallboard.
    flows = tmp_path / "sales.yaml"
    flows.write_text(AWAY_FLOW)
    for argv in (["user", "add", "boss", "--role", "admin", "--password", "pw-boss-1"],
                 ["queue", "set", "sales"], ["ivr", "apply", str(flows), "--no-sound-check"]):
        done = pbx_command(argv, db_env)
        assert done.returncode == 0, done.stderr
    hold_for(2)
    called_at = time.monotonic()
    refused = run_sipp("caller-waits-bye.xml", private_sandbox.sip_target, service="5551234",
                       caller="0611223344", timeout=15)
    waited = time.monotonic() - called_at
    assert not refused.ok and "503 Service Unavailable" in refused.errors, refused.describe()
    assert waited >= 1.5, f"refused after {waited:.1f} s: not held"
    app = _direct_app(private_sandbox, db_env, tmp_path / "pbx.log")
    try:
        # Nothing else in Asterisk at the start: the next call is the channel AstDB is read by.
        _greeted_call(private_sandbox)
        wait_until(lambda: len(calls_in(db_env["PBX_DATABASE_URL"])) == 2, within=10)
    finally:
        assert app.terminate() == 0, app.log()
    away, served = calls_in(db_env["PBX_DATABASE_URL"])
    record, journal = away
    assert (record.from_number, record.to_number, record.direction) == (
        "0611223344", "5551234", "inbound")
    assert record.status == "ended" and record.answered_at is None
    assert record.hangup_cause == 34
    assert record.ended_at is not None and 1 <= (record.ended_at - record.started_at
                                                 ).total_seconds() <= 4
    assert [entry.event for entry in journal] == ["CALLSTART", "CALLEND", "AWAY"]
    assert journal[1].data["away"] == "refused"
    assert journal[2].queue == "sales" and journal[2].data["why"] == "refused"
    day = fold(journal, record.started_at.timestamp() - 60, time.time() + 60)
    figures = day.queues["sales"].summary()
    assert (figures["offered"], figures["answered"], figures["away"]) == (1, 0, 1), figures
    assert [entry.event for entry in served[1]] == GREETED
    assert private_sandbox.cli("database show pbx-away").count("/pbx-away/") == 0


def test_asterisk_dropping_the_old_socket_late_leaves_the_app_hearing(
    private_sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], tmp_path: Path
) -> None:
    """A black hole where Asterisk notices the dead socket only after the app reconnected."""
    app = _app(private_sandbox, proxy, db_env, tmp_path / "pbx.log")
    try:
        proxy.silence(4.0, old_linger=2.0)
        app.wait_for_log("ARI events connected", count=2, timeout=10)
        time.sleep(2.5)  # the old socket is reset now
        _greeted_call(private_sandbox)
    finally:
        assert app.terminate() == 0, app.log()


def test_calls_during_a_cut_are_held_and_served_after_it(
    private_sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = _app(private_sandbox, proxy, db_env, tmp_path / "pbx.log")
    results: list[SippResult] = []
    try:
        proxy.cut(3.0)  # Asterisk sees the socket close: the app is gone until it reconnects
        callers = []
        for _ in range(3):
            time.sleep(0.6)
            callers.append(_call_in_background(private_sandbox, results))
        for caller in callers:
            caller.join(30)
        assert len(results) == 3 and all(result.ok for result in results), "\n".join(
            result.describe() for result in results if not result.ok)
    finally:
        assert app.terminate() == 0, app.log()
    calls = calls_in(db_env["PBX_DATABASE_URL"])
    assert [[entry.event for entry in journal] for _, journal in calls] == [GREETED] * 3


def test_a_caller_giving_up_during_the_hold_is_recorded_at_the_next_connect(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path,
    hold_for: Callable[[int], None],
) -> None:
    hold_for(10)
    gave_up = run_sipp("caller-cancels.xml", private_sandbox.sip_target, service="5551000",
                       caller="0611223344", timeout=15)
    assert gave_up.ok, gave_up.describe()
    # A call in progress when the app starts: the channel its connect reads AstDB through.
    results: list[SippResult] = []
    caller = _call_in_background(private_sandbox, results)
    time.sleep(1)
    app = _direct_app(private_sandbox, db_env, tmp_path / "pbx.log")
    try:
        app.wait_for_log("recorded 1 call(s) the dialplan let go", timeout=10)
        caller.join(30)
        assert results and results[0].ok, results[0].describe() if results else "no sipp"
    finally:
        assert app.terminate() == 0, app.log()
    (record, journal), (_, served) = calls_in(db_env["PBX_DATABASE_URL"])
    assert record.from_number == "0611223344" and record.answered_at is None
    assert [entry.event for entry in journal] == ["CALLSTART", "CALLEND"]
    assert journal[-1].data["away"] == "abandoned"
    assert journal[-1].data["by"] == "caller"
    assert [entry.event for entry in served] == GREETED
