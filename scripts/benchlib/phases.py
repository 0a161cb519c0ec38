"""The flows measured on the same sandbox: the Python ACD (in-process StasisApp) and app_queue
(and the floor, benchlib/floor.py, through the same `measure`).

All get the same callers (bench-caller.xml at the same rate), the same number of agents answered
by one sipp desk-phone process, and the same CPU window: from the first measured INVITE until
Asterisk has no channel left.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from sandbox import Sandbox, SippResult
from sqlalchemy import event, func, select

from benchlib.load import CallerRun, DeskPhones, Load, call, prepare_callers, tokens
from benchlib.system import CpuMark, load_average
from benchlib.traces import PairedCall, agent_legs, caller_legs, pair, read_messages
from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.app import UNUSED_EVENTS, StasisApp
from pbx_stasis.ari.metrics import events_received, requests_answered
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.bus import Bus
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call
from pbx_stasis.config import AriSettings, DatabaseSettings, Settings
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.store.tables import Call as CallRecord
from pbx_stasis.store.tables import CallEvent

QUEUE = "bench"  # ours: the ACD queue; app_queue: queues.conf [bench]
AGENT_LEG = re.compile(r"-o\d+$")  # the ACD names agent legs <call id>-o<offer id>
IDLE_WITHIN = 30.0  # seconds for Asterisk to drop every channel after the last call


@dataclass
class PhaseResult:
    name: str
    load: Load
    agents: int
    calls: list[PairedCall]
    cpu: CpuMark
    wall: float  # seconds of the CPU window
    callers: SippResult
    phones: SippResult
    load_average: tuple[float, float]  # before, after
    bridged_source: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, load: Load, agents: int, window: Window, phones: DeskPhones,
           answered: SippResult, *, bridged_source: str, extra: dict[str, Any]) -> PhaseResult:
        """A phase measured by `measure`, its desk phones stopped (`answered`)."""
        return cls(name=name, load=load, agents=agents,
                   calls=_pair_traces(window.run, phones, window.measured), cpu=window.cpu,
                   wall=window.wall, callers=window.run.result, phones=answered,
                   load_average=window.load_average, bridged_source=bridged_source, extra=extra)


@dataclass(frozen=True)
class Window:
    """A phase's measured calls and what they cost: from the first measured INVITE until
    Asterisk has no channel left."""

    run: CallerRun
    measured: list[str]
    cpu: CpuMark
    wall: float
    load_average: tuple[float, float]  # before, after
    channels_left: int


def measure(sandbox: Sandbox, load: Load, workdir: Path, phones: DeskPhones, phase: int, *,
            local_address: str = "127.0.0.1") -> Window:
    """The warm-up calls, then the measured ones in the CPU window (blocking). `phase` tells
    the flows' tokens apart; `local_address` picks the endpoint Asterisk takes them for."""
    pid = asterisk_pid(sandbox)
    prepare_callers(workdir)
    if load.warmup:
        call(workdir, "warmup", sandbox.sip_target, tokens(phase, load.warmup, warmup=True),
             rate=min(load.rate, 10), talk_ms=load.talk_ms, local_address=local_address)
        wait_no_channels(sandbox)
    measured = tokens(phase, load.calls)
    before, started = load_average(), time.monotonic()
    mark = CpuMark.now(pid, phones.pid)
    run = call(workdir, "callers", sandbox.sip_target, measured, rate=load.rate,
               talk_ms=load.talk_ms, local_address=local_address)
    left = wait_no_channels(sandbox)
    cpu = CpuMark.now(pid, phones.pid) - mark
    return Window(run, measured, cpu, time.monotonic() - started, (before, load_average()),
                  left)


def asterisk_pid(sandbox: Sandbox) -> int:
    pid_file = sandbox.root / "srv" / "pbx" / sandbox.name / "run" / "asterisk.pid"
    pid = int(pid_file.read_text().split()[0])
    if Path(f"/proc/{pid}/comm").read_text().strip() != "asterisk":
        raise RuntimeError(f"pid {pid} from {pid_file} is not asterisk")
    return pid


def wait_no_channels(sandbox: Sandbox, within: float = IDLE_WITHIN) -> int:
    """Until Asterisk has no channel (bounded); returns how many were left at the deadline."""
    deadline = time.monotonic() + within
    while True:
        channels = sandbox.ari("GET", "channels")
        left = len(channels) if isinstance(channels, list) else 0
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _pair_traces(run: CallerRun, phones: DeskPhones, measured: list[str]) -> list[PairedCall]:
    callers = caller_legs(read_messages(run.trace))
    agents = agent_legs(read_messages(phones.trace)) if phones.trace.exists() else {}
    return pair(callers, agents, set(measured))


NEEDS_PY_SPY = "--profile needs py-spy: .venv/bin/pip install py-spy"


def py_spy() -> str | None:
    """The py-spy `--profile` runs: the project's own, else one on the PATH."""
    venv = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "py-spy"
    return str(venv) if venv.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy sampling this process: only the thread holding the GIL (the Python work proper),
    nonblocking (it never pauses the event loop)."""

    def __init__(self, output: Path, pid: int, rate: int = 200) -> None:
        self.output = output
        found = py_spy()
        if found is None:
            raise RuntimeError(NEEDS_PY_SPY)
        self.process = subprocess.Popen(
            [
                found,
                *("record", "--pid", str(pid), "--rate", str(rate), "--nonblocking"),
                *("--format", "raw", "--output", str(output), "--threads", "--gil"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        """Stop sampling; returns py-spy's complaints, if any."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
        return "" if self.output.exists() else err


# --------------------------------------------------------------------------------------------
# app_queue


# app_queue's CLI for one member of its queue, by change.
_MEMBER_COMMANDS = {
    "add": f"queue add member PJSIP/{{}} to {QUEUE}",
    "remove": f"queue remove member PJSIP/{{}} from {QUEUE}",
    "pause": f"queue pause member PJSIP/{{}} queue {QUEUE} reason bench",
}


def queue_members(sandbox: Sandbox, change: Literal["add", "remove", "pause"],
                  endpoints: list[str]) -> None:
    """Add, remove or pause each endpoint as a member of app_queue's queue (4 CLI calls at a
    time)."""
    command = _MEMBER_COMMANDS[change]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda e: sandbox.cli(command.format(e)), endpoints))


def run_app_queue(sandbox: Sandbox, load: Load, agents: int, workdir: Path) -> PhaseResult:
    """Queue(bench) with `agents` static-contact members, all answered by one sipp process."""
    workdir.mkdir(parents=True, exist_ok=True)
    lifetime = (load.calls + load.warmup) / load.rate + load.talk_ms / 1000 + 180
    phones = DeskPhones(workdir, ring_ms=load.ring_ms, lifetime=lifetime)
    endpoints = [f"bench-aq-{n}" for n in range(1, agents + 1)]
    try:
        for endpoint in endpoints:
            sandbox.provision_desk_phone(endpoint, phones.sip_port)
        queue_members(sandbox, "add", endpoints)
        shown = sandbox.cli(f"queue show {QUEUE}")
        members = shown.count("PJSIP/bench-aq-")
        if members != agents:
            raise RuntimeError(f"app_queue {QUEUE} has {members} members, not {agents}:\n{shown}")
        window = measure(sandbox, load, workdir, phones, 2, local_address=sandbox.bench_caller)
    finally:
        phones_result = phones.stop()
    # app_queue matches every device state change in Asterisk against its members: left in the
    # queue, they would cost the next flow on this instance (ours) Asterisk CPU.
    queue_members(sandbox, "remove", endpoints)
    return PhaseResult.of(
        "app_queue", load, agents, window, phones, phones_result,
        bridged_source="the desk phone's 200 OK (app_queue bridges on answer)",
        extra={"channels_left": window.channels_left,
               "queue_show": sandbox.cli(f"queue show {QUEUE}")},
    )


# --------------------------------------------------------------------------------------------
# ours


def _ari_time(stamp: str) -> float:
    # "2026-11-22T20:12:37.821+0000" (fromisoformat: ~20x cheaper than strptime, and this
    # runs in the measured process, per step event)
    return datetime.fromisoformat(stamp).timestamp()


class EventTap:
    """Notes when Asterisk emitted (its timestamp) and the app received the events that mark a
    call's steps, by token (the calling number; agent legs show it as their caller id).

    Wraps the event stream's handler: the bench's only hook into the app, read-only.
    """

    STEPS = ("stasis_start", "bridged")
    NOTED = frozenset({"StasisStart", "ChannelEnteredBridge"})  # the events `_note` reads

    def __init__(self, app: StasisApp) -> None:
        self.asterisk: dict[str, dict[str, float]] = {step: {} for step in self.STEPS}
        self.received: dict[str, dict[str, float]] = {step: {} for step in self.STEPS}
        self._tokens: dict[str, str] = {}  # call record id -> token
        stream = app.events
        self._next = cast(Callable[[AriEvent], None], stream._handler)  # the router's, inline
        stream._handler = self._on_event

    def _on_event(self, event: AriEvent) -> None:
        kind = event.get("type")
        if kind in self.NOTED:  # the others cost the measured process nothing more
            channel = event.get("channel")
            if isinstance(channel, dict):
                self._note(str(kind), event, channel, time.time())
        self._next(event)

    def _note(self, kind: str, event: AriEvent, channel: dict[str, Any], now: float) -> None:
        channel_id = str(channel.get("id", ""))
        caller = channel.get("caller")
        number = str(caller.get("number", "")) if isinstance(caller, dict) else ""
        if AGENT_LEG.search(channel_id):
            # the agent leg's first events may not show the caller id yet: its id tells the call
            token = self._tokens.get(channel_id.rsplit("-o", 1)[0], number)
            if kind == "ChannelEnteredBridge":
                self._step("bridged", token, event, now)
        elif kind == "StasisStart":
            self._step("stasis_start", number, event, now)
        elif kind == "ChannelEnteredBridge":
            bridge = event.get("bridge")
            bridge_id = str(bridge.get("id", "")) if isinstance(bridge, dict) else ""
            if bridge_id.startswith("q-") and number:  # the ACD's waiting bridge q-<call id>...
                self._tokens[bridge_id.split("-")[1]] = number

    def _step(self, step: str, token: str, event: AriEvent, now: float) -> None:
        if token and token not in self.asterisk[step]:
            with contextlib.suppress(KeyError, ValueError):
                self.asterisk[step][token] = _ari_time(str(event["timestamp"]))
            self.received[step][token] = now


JOURNAL_STEPS = ("CALLSTART", "ANSWER", "ENTERQUEUE", "OFFER", "CONNECT")


async def _journal_times(db: Database) -> dict[str, dict[str, float]]:
    """token -> first journal time of each step (the app's own clock, time.time())."""
    times: dict[str, dict[str, float]] = {}
    async with db.session() as session:
        rows = await session.execute(
            select(CallRecord.from_number, CallEvent.event, CallEvent.at)
            .join(CallRecord, CallRecord.id == CallEvent.call_id)
            .where(CallEvent.event.in_(JOURNAL_STEPS))
            .order_by(CallEvent.id)
        )
        for token, event, at in rows:
            times.setdefault(str(token), {}).setdefault(str(event), at.timestamp())
    return times


class GcWatch:
    """The garbage collector's passes while it watches: a pass stops the event loop, and a full
    one over a large heap takes tens of ms (the app's process freezes its start-up objects, as
    `pbx run` does, so a full pass walks only what the calls created)."""

    def __init__(self) -> None:
        self.passes: Counter[int] = Counter()  # by generation
        self.longest_ms = 0.0
        self.total_ms = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on)

    def _on(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.passes[info["generation"]] += 1
        took = (time.perf_counter() - self._started) * 1000
        self.longest_ms = max(self.longest_ms, took)
        self.total_ms += took

    def close(self) -> dict[str, Any]:
        gc.callbacks.remove(self._on)
        return {"passes": dict(sorted(self.passes.items())), "longest_ms": self.longest_ms,
                "total_ms": self.total_ms}


async def _journal_counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(
            select(CallEvent.event, func.count()).group_by(CallEvent.event)
        )
        return {str(event): int(count) for event, count in rows}


async def run_ours(
    sandbox: Sandbox,
    load: Load,
    agents: int,
    workdir: Path,
    db_url: str,
    *,
    queue_settings: Mapping[str, Any],
    profile: Path | None = None,
    count_calls: Path | None = None,
    bridge_events: bool = False,
) -> PhaseResult:
    """The real StasisApp in this process: each call goes straight to AcdService.enqueue into
    `bench` (a number routed to a queue, or a flow whose entry node is the queue), which answers
    the caller while it already rings the first agent.

    `workdir` must exist. `count_calls`: where cProfile's counts of the measured window go.
    """
    pid = asterisk_pid(sandbox)
    await migrate.upgrade(db_url)
    db = Database.connect(db_url)
    settings = Settings(
        ari=AriSettings(url=sandbox.ari_url, user=sandbox.user, password=sandbox.password),
        database=DatabaseSettings(url=db_url),
    )
    tenant = await Directory(db).ensure_tenant(settings.calls.tenant)
    await AcdDirectory(db).save_queue(tenant.id, QUEUE, dict(queue_settings))
    outcomes: dict[str, int] = {}
    holder: list[StasisApp] = []
    statements: Counter[str] = Counter()  # SQL statements by verb (INSERT, UPDATE, BEGIN...)

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[statement.split(None, 1)[0].upper() if statement.strip() else "?"] += 1

    # Every transaction's BEGIN: SQLite's goes straight to the driver (store/db.py `_begin`),
    # where the cursor events above do not see it.
    @event.listens_for(db.engine.sync_engine, "begin")
    def _begin(_conn: Any) -> None:
        statements["BEGIN"] += 1

    @event.listens_for(db.engine.sync_engine, "commit")
    def _commit(_conn: Any) -> None:
        statements["COMMIT"] += 1

    async def script(call_: Call) -> None:
        outcome = await holder[0].acd.enqueue(call_, QueueRequest(QUEUE))
        outcomes[outcome.reason] = outcomes.get(outcome.reason, 0) + 1

    app = StasisApp(settings, db, Bus(), script=script)
    if bridge_events:
        # Bridging timed by the agent leg's ChannelEnteredBridge (Asterisk's clock): 2 events a
        # call that the app filters out, so they add their cost to both processes' CPU.
        app.unused_events = tuple(e for e in UNUSED_EVENTS if e != "ChannelEnteredBridge")
    holder.append(app)
    tap = EventTap(app)
    lifetime = (load.calls + load.warmup) / load.rate + load.talk_ms / 1000 + 180
    phones = await asyncio.to_thread(DeskPhones, workdir, ring_ms=load.ring_ms, lifetime=lifetime)
    profiler: Profiler | None = None
    try:
        await app.start()
        async with asyncio.timeout(15):
            await app.events.wait_connected()
        users = Directory(db)
        ids = []
        for n in range(1, agents + 1):
            user = await users.add_user(settings.calls.tenant, f"bench{n}", "agent")
            record = await AcdDirectory(db).save_agent(
                user.id, queues={QUEUE: 0}, contact=phones.contact(f"bench{n}")
            )
            await app.acd.save_agent(record)
            app.acd.login(record.agent_id)
            ids.append(record.agent_id)
        if await _until(lambda: all(_available(app, i) for i in ids), 10):
            raise RuntimeError("the agents are not all available 10 s after logging in")
        prepare_callers(workdir)
        if load.warmup:
            warm = tokens(1, load.warmup, warmup=True)
            await asyncio.to_thread(call, workdir, "warmup", sandbox.sip_target, warm,
                                    rate=min(load.rate, 10), talk_ms=load.talk_ms)
            await asyncio.to_thread(wait_no_channels, sandbox)
        measured = tokens(1, load.calls)
        events_before = app.events.stats.received
        statements_before = Counter(statements)
        # On SQLite the write-behind writer runs its statements on the driver, out of sight of
        # SQLAlchemy's cursor events: it counts them itself.
        written_before = Counter(app.db.writes.statements)
        # The app counts its events and answered requests for /metrics (ari/metrics.py): the
        # bench reads those counts instead of wrapping the app's code in its own.
        requests_before, by_type_before = Counter(requests_answered()), Counter(events_received())
        decisions_before = app.acd.decisions
        outcomes.clear()
        gc.freeze()  # as `pbx run` does once it serves
        gc_watch = GcWatch()
        if profile is not None:
            import os

            profiler = Profiler(profile, os.getpid())
            await asyncio.sleep(0.5)  # py-spy attaches
        counter = cProfile.Profile() if count_calls is not None else None
        if counter is not None:
            counter.enable()  # this thread's calls: the event loop's, where the app runs
        before, started = load_average(), time.monotonic()
        mark = CpuMark.now(pid, phones.pid)
        run = await asyncio.to_thread(call, workdir, "callers", sandbox.sip_target, measured,
                                      rate=load.rate, talk_ms=load.talk_ms)
        left = await asyncio.to_thread(wait_no_channels, sandbox)
        cpu = CpuMark.now(pid, phones.pid) - mark
        if counter is not None and count_calls is not None:
            counter.disable()
            counter.dump_stats(count_calls)
        wall = time.monotonic() - started
        after = load_average()
        collections = gc_watch.close()
        profile_error = profiler.stop() if profiler is not None else ""
        profiler = None
        await _until(lambda: app.router.live_calls == 0, 10)
        calls_left = app.router.live_calls
        await app.db.writes.settle()
        extra: dict[str, Any] = {
            "channels_left": left,
            "calls_left_in_app": calls_left,
            "ari_events": app.events.stats.received - events_before,
            "sql_statements": dict((statements - statements_before
                                    + (app.db.writes.statements - written_before)).most_common()),
            "ari_requests": dict((Counter(requests_answered()) - requests_before).most_common()),
            "acd_decisions": app.acd.decisions - decisions_before,
            "handler_errors": app.events.stats.handler_errors,
            "outcomes": dict(outcomes),
            "journal": await _journal_counts(db),
            "journal_times": await _journal_times(db),
            "events_by_type": dict((Counter(events_received()) - by_type_before).most_common()),
            "profile_error": profile_error,
            "gc": collections,
        }
    finally:
        if profiler is not None:
            profiler.stop()
        await app.stop()
        phones_result = await asyncio.to_thread(phones.stop)
        await db.dispose()
    calls = _pair_traces(run, phones, measured)
    for paired in calls:
        token = paired.caller.token
        paired.bridged = tap.asterisk["bridged"].get(token)
        journal = extra["journal_times"].get(token, {})
        paired.steps = {
            **{f"{step} (Asterisk)": at.get(token) for step, at in tap.asterisk.items()},
            **{f"{step} (app)": at.get(token) for step, at in tap.received.items()},
            **{f"journal {event}": journal.get(event) for event in JOURNAL_STEPS},
        }
    return PhaseResult(
        name="ours",
        load=load,
        agents=agents,
        calls=calls,
        cpu=cpu,
        wall=wall,
        callers=run.result,
        phones=phones_result,
        load_average=(before, after),
        bridged_source=("ARI ChannelEnteredBridge of the agent leg (Asterisk's timestamp)"
                        if bridge_events else "not timed (--bridge-events times it, at the cost"
                        " of 2 events a call that the app does not receive otherwise)"),
        extra=extra,
    )


def _available(app: StasisApp, agent_id: str) -> bool:
    view = app.acd.core.agent(agent_id)
    return view is not None and str(view.state) == "available"


async def _until(check: Callable[[], bool], within: float) -> int:
    """Wait until check() (bounded); returns 0 if it came true, 1 if time ran out."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return 1
        await asyncio.sleep(0.05)
    return 0
