"""`pbx run` killed (-9) and stopped (SIGTERM) under calls, on the real stack: agents' state is
rebuilt from what Asterisk and the journal say, a stop leaves talking and waiting callers to
the next start as a crash does, and a restart is invisible in the reports (issue 19)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faults_process import DID, Floor, floor
from polling import eventually
from sandbox import Sandbox, SippResult, run_sipp_async

from pbx_stasis.reports.core import Report
from pbx_stasis.store import JournalEntry

pytestmark = pytest.mark.integration


def caller(sandbox: Sandbox, workdir: Path, number: str, talk_s: float
           ) -> asyncio.Task[SippResult]:
    """A caller on the line who hangs up `talk_s` seconds after being answered; a BYE from
    the other side first fails the call."""
    return asyncio.create_task(run_sipp_async(
        "caller-hangs-up.xml", sandbox.sip_target, service=DID, caller=number,
        keys={"talk_ms": str(int(talk_s * 1000))}, timeout=talk_s + 40, workdir=workdir))


async def rows(center: Floor, event: str, count: int, within: float = 20.0
               ) -> list[JournalEntry]:
    found: list[JournalEntry] = await eventually(
        lambda: center.journal(event), until=lambda r: len(r) >= count, within=within,
        every=0.2, what=f"{count} {event} row(s)")
    return found


async def carried_over(center: Floor, count: int) -> None:
    """The restarted app took the conversations over (before the fix: paused their agents)."""
    async def taken_over() -> list[JournalEntry]:
        return await center.journal("ADOPTED", "PAUSE")

    found: list[JournalEntry] = await eventually(
        taken_over, until=lambda r: len(r) >= count, within=20, every=0.2,
        what="the conversations carried over")
    assert found


async def test_two_crashes_leave_no_agent_paused(private_sandbox: Sandbox,
                                                 tmp_path: Path) -> None:
    """kill -9; start; kill -9 while the carried-over call lasts; it ends; start: the agent
    takes the next call (before: paused "call in progress" for good, with no call)."""
    with floor(private_sandbox, tmp_path, ["ann"], first_phone=610) as center:
        center.start()
        await center.available("ann")
        talking = caller(private_sandbox, tmp_path, "+14155550101", 14)
        await rows(center, "CONNECT", 1)
        center.kill()
        center.start()
        await carried_over(center, 1)
        center.kill()
        assert (await talking).ok  # it ended while the app was away

        center.start()  # nobody touches ann's state: it comes from Asterisk and the journal
        second = caller(private_sandbox, tmp_path, "+14155550102", 2)
        connects = await rows(center, "CONNECT", 2, within=15)
        assert connects[1].agent_user_id == center.agents["ann"]
        assert (await second).ok
        assert center.stop() == 0

        [first_id] = {r.call_id for r in connects[:1]}
        ends = [r for r in await center.journal("COMPLETECALLER", "COMPLETEAGENT")
                if r.call_id == first_id]
        assert len(ends) == 1 and ends[0].data.get("ended_away") is True  # completed at start
        assert not [r for r in await center.journal("PAUSE")
                    if r.agent_user_id == center.agents["ann"]]


async def test_a_stop_leaves_talking_and_waiting_callers_to_the_next_start(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """SIGTERM (an upgrade) under a talk and a waiting caller; start; SIGTERM again under the
    carried-over talk; start: the conversation goes on (before: BYE after the 5 s grace of the
    second stop) and the waiting caller keeps waiting, as after a crash; the last start serves
    both to the end."""
    with floor(private_sandbox, tmp_path, ["bea"], first_phone=620) as center:
        center.start()
        await center.available("bea")
        talking = caller(private_sandbox, tmp_path, "+14155550201", 24)
        await rows(center, "CONNECT", 1)
        waiting = caller(private_sandbox, tmp_path, "+14155550202", 34)
        await rows(center, "ENTERQUEUE", 2)
        assert center.stop() == 0  # waits its 5 s grace, then leaves both and exits cleanly
        center.start()
        await carried_over(center, 1)
        assert center.stop() == 0
        center.start()

        first, second = await talking, await waiting
        assert first.ok, first.describe()  # nobody hung the callers up
        assert second.ok, second.describe()
        connects = await rows(center, "CONNECT", 2, within=30)
        ends = await rows(center, "COMPLETECALLER", 2, within=10)
        assert {r.call_id for r in ends} == {r.call_id for r in connects}
        [talked] = [r for r in ends if r.call_id == connects[0].call_id]
        assert talked.data["talk"] > 20  # from the first CONNECT, over two stops
        assert len(await center.journal("ENTERQUEUE")) == 2  # no second entry for the waiter
        assert center.stop() == 0


async def test_stops_as_the_app_adopts_leave_the_waiting_caller_waiting(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """A caller waits (no agent available); the app is stopped again and again as it starts:
    at once when its events socket connects (its resync then puts the caller back), and a
    little later. The caller keeps their place through every stop (one ENTERQUEUE: the same
    stay) and the last start has them served. (A stop that lands inside the resync itself, a window
    of some 10 ms here, let the call it put back run on unwatched as the app closed under it,
    which once hung a waiting caller up: the router's unit test pins that; this one only
    lands there by chance.)"""
    with floor(private_sandbox, tmp_path, ["cy"], first_phone=640) as center:
        center.start()
        waiting = caller(private_sandbox, tmp_path, "+14155550211", 40)
        await rows(center, "ENTERQUEUE", 1)
        for delay in (0.0, 0.05, 0.3):
            assert center.stop() == 0
            center.start()
            await asyncio.sleep(delay)
        await center.available("cy")
        await rows(center, "CONNECT", 1)
        result = await waiting
        assert result.ok, result.describe()  # they hung up themself, after talking
        await rows(center, "COMPLETECALLER", 1)
        assert len(await center.journal("ENTERQUEUE")) == 1  # one stay, however many stops
        assert center.stop() == 0


async def test_a_conversation_the_agent_ended_while_the_app_was_away_ends_the_call(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """kill -9 during a talk; the agent hangs up while the app is away, which leaves the caller
    alone in the conversation's bridge; start: the caller is released as when an agent hangs
    up, the talk completed once (before: put back in the queue, and offered to the same agent
    again: a second CONNECT for one call)."""
    with floor(private_sandbox, tmp_path, ["eve"], first_phone=650,
               phone_scenario="agent-answer-hangs-up.xml",
               phone_keys={"talk_ms": "4000"}) as center:
        center.start()
        await center.available("eve")
        call = asyncio.create_task(run_sipp_async(
            "caller-waits-bye.xml", private_sandbox.sip_target, service=DID,
            caller="+14155550221", timeout=60, workdir=tmp_path))
        await rows(center, "CONNECT", 1)
        center.kill()
        await asyncio.sleep(6.0)  # the agent's phone hangs up 4 s after answering
        center.start()
        result = await call
        assert result.ok, result.describe()  # the caller got the BYE
        ends = await rows(center, "CALLEND", 1, within=10)
        assert [r.data["by"] for r in ends] == ["agent"]
        [ended] = await center.journal("COMPLETECALLER", "COMPLETEAGENT")
        assert ended.data.get("ended_away"), ended.data
        assert len(await center.journal("CONNECT")) == 1
        assert len(await center.journal("ENTERQUEUE")) == 1
        assert center.stop() == 0


async def _period(center: Floor, sandbox: Sandbox, workdir: Path, prefix: str, *,
                  crash: bool) -> Report:
    """Three callers on two agents: two talk 12 s, the third waits for the first free agent
    and hangs up 18 s after being seated; with `crash`, kill -9 and start once the third is
    queued (a caller who arrives while the app is away is queued when it is back, and a call
    that ends while it is away ends when it is back: either would change the figures)."""
    start = datetime.now(UTC)
    calls = [caller(sandbox, workdir, f"{prefix}01", 12)]
    await rows(center, "CONNECT", len(await center.journal("CONNECT")) + 1)
    calls.append(caller(sandbox, workdir, f"{prefix}02", 12))
    await asyncio.sleep(1.0)
    calls.append(caller(sandbox, workdir, f"{prefix}03", 18))
    await eventually(lambda: center.journal("ENTERQUEUE"),
                     until=lambda r: any(e.data["caller"] == f"{prefix}03" for e in r),
                     within=20, every=0.2, what="the third caller queued")
    if crash:
        center.kill()
        center.start()
    for call in calls:
        result = await call
        assert result.ok, result.describe()
    await asyncio.sleep(1.0)  # the last rows reach the journal (write-behind)
    return await center.report(start, datetime.now(UTC))


async def test_a_restart_is_invisible_in_the_report(private_sandbox: Sandbox,
                                                    tmp_path: Path) -> None:
    """The same three calls with and without a kill -9 in the middle: the same offered,
    answered, handled and talk, and agents' talk and pauses; one ENTERQUEUE per caller, a
    COMPLETE row per CONNECT, no LOGIN or PAUSE written by the restart."""
    with floor(private_sandbox, tmp_path, ["cid", "dee"], first_phone=630) as center:
        center.start()
        for username in ("cid", "dee"):
            await center.available(username)
        steady = await _period(center, private_sandbox, tmp_path, "+1415555030", crash=False)
        restarted = await _period(center, private_sandbox, tmp_path, "+1415555040", crash=True)
        assert center.stop() == 0

        a, b = steady.queues["sales"].tally, restarted.queues["sales"].tally
        assert (b.offered, b.answered, b.handled, b.unanswered) == (
            a.offered, a.answered, a.handled, a.unanswered) == (3, 3, 3, 0)
        assert b.talk == pytest.approx(a.talk, abs=2.0)
        assert b.answer_wait == pytest.approx(a.answer_wait, abs=2.0)
        for username in ("cid", "dee"):
            user_id = center.agents[username]
            x, y = steady.agents[user_id].tally, restarted.agents[user_id].tally
            assert (y.answered, y.handled) == (x.answered, x.handled)
            assert y.talk == pytest.approx(x.talk, abs=1.5)
            assert y.busy == pytest.approx(x.busy, abs=1.5)
            assert y.paused == x.paused == 0
        journal = await center.journal()
        count = {event: sum(r.event == event for r in journal)
                 for event in ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT",
                               "LOGIN", "PAUSE", "UNPAUSE")}
        assert count == {"ENTERQUEUE": 6, "CONNECT": 6, "COMPLETECALLER": 6,
                         "COMPLETEAGENT": 0, "LOGIN": 2, "PAUSE": 0, "UNPAUSE": 0}, count
