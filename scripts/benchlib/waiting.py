"""scripts/bench-waiting: many callers waiting with music while agents are logged in, through the
Python ACD and through app_queue on one private sandbox instance, in the same run.

Each flow: `agents` agents (one sipp desk phone answers for all) logged in and paused, so nobody
is rung; `callers` sipp callers arrive at `rate` and wait in the queue with music on hold until
they hang up on their own. Once every caller waits, a window of `window` seconds measures the CPU
of Asterisk and of this process (ours: the app's event loop, timers, pollers, heartbeats; for
app_queue ~0, the harness's own), and the process's resident memory at the window's end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import Sandbox, SandboxError

from benchlib.load import CallerRun, DeskPhones, call, prepare_callers, tokens
from benchlib.main import start_sandbox
from benchlib.phases import QUEUE, _until, asterisk_pid, queue_members, wait_no_channels
from benchlib.system import CpuMark, add_loop_argument, load_average
from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call
from pbx_stasis.cli import eventloop
from pbx_stasis.config import AriSettings, DatabaseSettings, Settings
from pbx_stasis.store import Database, Directory, migrate

WAIT_SERVICE = "7000"  # app_queue: answered, then music (sandbox bench-app-queue/extensions.conf)
CPU_BAR = 0.5  # the bar for ours: Python under half a core...
RSS_BAR_MB = 300.0  # ... and under 300 MB


@dataclass(frozen=True)
class Waiting:
    flow: str
    callers: int
    agents: int
    waiting_seen: int  # callers the queue showed waiting when the window opened
    window: float  # seconds
    asterisk_cpu: float  # seconds over the window
    python_cpu: float
    rss_mb: float  # this process at the window's end (ours: the app's)
    failed: int  # callers sipp counted as failed (hung up on, refused)
    rest_cpu: float
    load_average: tuple[float, float]

    @property
    def python_cores(self) -> float:
        return self.python_cpu / self.window

    @property
    def asterisk_cores(self) -> float:
        return self.asterisk_cpu / self.window


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _hold_ms(callers: int, rate: float, window: float) -> int:
    """Each caller stays through the arrivals of the others, the window and a margin."""
    return round((callers / rate + window + 8) * 1000)


async def _measure(pid: int, phones_pid: int, window: float) -> tuple[CpuMark, tuple[float, float],
                                                                       float]:
    before = load_average()
    mark = CpuMark.now(pid, phones_pid)
    await asyncio.sleep(window)
    cpu = CpuMark.now(pid, phones_pid) - mark
    return cpu, (before, load_average()), rss_mb()


def run_app_queue(sandbox: Sandbox, *, callers: int, agents: int, rate: float, window: float,
                  workdir: Path) -> Waiting:
    """Queue(bench) with `agents` static members, all paused."""
    workdir.mkdir(parents=True, exist_ok=True)
    pid = asterisk_pid(sandbox)
    hold = _hold_ms(callers, rate, window)
    phones = DeskPhones(workdir, ring_ms=50, lifetime=hold / 1000 + 120)
    try:
        endpoints = [f"bench-aq-{n}" for n in range(1, agents + 1)]
        for endpoint in endpoints:
            sandbox.provision_desk_phone(endpoint, phones.sip_port)
        queue_members(sandbox, "add", endpoints)
        queue_members(sandbox, "pause", endpoints)
        prepare_callers(workdir)

        def waiting() -> int:
            # Callers answered and in Queue() (the paused members have no channel); over ARI,
            # as `queue show` through the CLI is too slow on a busy machine.
            channels = sandbox.ari("GET", "channels")
            return sum(1 for c in channels if c.get("state") == "Up") \
                if isinstance(channels, list) else 0

        with ThreadPoolExecutor(1) as pool:
            placing = pool.submit(call, workdir, "callers", sandbox.sip_target,
                                  tokens(2, callers), rate=rate, talk_ms=hold,
                                  local_address=sandbox.bench_caller, service=WAIT_SERVICE)
            seen = _wait_for_callers(waiting, callers, callers / rate + 20)
            cpu, load, rss = asyncio.run(_measure(pid, phones.pid, window))
            run: CallerRun = placing.result()
        with contextlib.suppress(Exception):  # the figures are taken (as in run_ours)
            wait_no_channels(sandbox)
    finally:
        phones.stop()
    return Waiting("app_queue", callers, agents, seen, window, cpu.asterisk, cpu.python, rss,
                   run.result.failed, cpu.rest, load)


def _wait_for_callers(waiting: Any, callers: int, within: float) -> int:
    deadline = time.monotonic() + within
    seen = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(SandboxError):
            seen = waiting()
        if seen >= callers:
            break
        time.sleep(0.5)
    return int(seen)


async def run_ours(sandbox: Sandbox, *, callers: int, agents: int, rate: float, window: float,
                   workdir: Path, db_url: str) -> Waiting:
    """The real StasisApp in this process; every caller goes to `enqueue` and waits.
    `workdir` must exist."""
    pid = asterisk_pid(sandbox)
    await migrate.upgrade(db_url)
    db = Database.connect(db_url)
    settings = Settings(
        ari=AriSettings(url=sandbox.ari_url, user=sandbox.user, password=sandbox.password),
        database=DatabaseSettings(url=db_url),
    )
    tenant = await Directory(db).ensure_tenant(settings.calls.tenant)
    # Callers wait as long as the run needs (the queue's own timeout would end their stay).
    await AcdDirectory(db).save_queue(tenant.id, QUEUE, {"strategy": "longest-idle",
                                                         "ring_in_use": False, "wrapup": 0})
    holder: list[StasisApp] = []

    async def script(call_: Call) -> None:
        await holder[0].acd.enqueue(call_, QueueRequest(QUEUE))

    app = StasisApp(settings, db, Bus(), script=script)
    holder.append(app)
    hold = _hold_ms(callers, rate, window)
    phones = await asyncio.to_thread(DeskPhones, workdir, ring_ms=50, lifetime=hold / 1000 + 120)
    try:
        await app.start()
        async with asyncio.timeout(15):
            await app.events.wait_connected()
        users = Directory(db)
        for n in range(1, agents + 1):
            user = await users.add_user(settings.calls.tenant, f"bench{n}", "agent")
            record = await AcdDirectory(db).save_agent(
                user.id, queues={QUEUE: 0}, contact=phones.contact(f"bench{n}"))
            await app.acd.save_agent(record)
            app.acd.login(record.agent_id)
            app.acd.pause(record.agent_id, "bench")
        prepare_callers(workdir)
        key = next(k for k in app.acd.stats.queue_names() if k.endswith(QUEUE))

        def waiting() -> int:
            return app.acd.stats.queue(key, app.acd.clock()).waiting

        placing = asyncio.create_task(asyncio.to_thread(
            call, workdir, "callers", sandbox.sip_target, tokens(1, callers), rate=rate,
            talk_ms=hold, service=WAIT_SERVICE))
        await _until(lambda: waiting() >= callers, callers / rate + 20)
        seen = waiting()
        gc.freeze()  # as `pbx run` does once it serves
        cpu, load, rss = await _measure(pid, phones.pid, window)
        run = await placing
        # The figures are taken: a busy machine's slow cleanup must not lose them.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(wait_no_channels, sandbox)
        await _until(lambda: app.router.live_calls == 0, 10)
    finally:
        await app.stop()
        await asyncio.to_thread(phones.stop)
        await db.dispose()
    return Waiting("ours", callers, agents, seen, window, cpu.asterisk, cpu.python, rss,
                   run.result.failed, cpu.rest, load)


def report(results: list[Waiting]) -> str:
    by = {r.flow: r for r in results}
    flows = [f for f in ("ours", "app_queue") if f in by]
    rows: list[tuple[str, Any]] = [
        ("callers placed / seen waiting when the window opened",
         lambda r: f"{r.callers} / {r.waiting_seen}"),
        ("agents (logged in, paused)", lambda r: r.agents),
        ("window (s)", lambda r: f"{r.window:g}"),
        ("Asterisk CPU (cores)", lambda r: f"{r.asterisk_cores:.3f}"),
        ("Python CPU (cores)", lambda r: f"{r.python_cores:.3f}"),
        ("resident memory of this process at the end (MB; app_queue: the harness)",
         lambda r: f"{r.rss_mb:.0f}"),
        ("callers failed (sipp)", lambda r: r.failed),
        ("rest of the machine (CPU s in the window)", lambda r: f"{r.rest_cpu:.1f}"),
        ("load average before -> after", lambda r: f"{r.load_average[0]:.1f} -> "
                                                   f"{r.load_average[1]:.1f}"),
    ]
    lines = ["| | " + " | ".join(flows) + " |", "|---|" + "---:|" * len(flows)]
    for label, value in rows:
        lines.append(f"| {label} | " + " | ".join(str(value(by[f])) for f in flows) + " |")
    ours = by.get("ours")
    if ours is not None:
        lines += ["", f"ours: Python {ours.python_cores:.3f} cores (bar < {CPU_BAR}) -> "
                  f"{'OK' if ours.python_cores < CPU_BAR else 'MISSED'}; "
                  f"{ours.rss_mb:.0f} MB (bar < {RSS_BAR_MB:g}) -> "
                  f"{'OK' if ours.rss_mb < RSS_BAR_MB else 'MISSED'}; every caller waiting: "
                  f"{'yes' if ours.waiting_seen >= ours.callers else 'NO'}"]
    return "\n".join(lines)


MAX_CALLERS, MAX_AGENTS, MAX_WINDOW = 2_000, 500, 120.0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-waiting",
        description="callers waiting with music while paused agents are logged in, through the "
        "Python ACD and app_queue on one private sandbox Asterisk, in the same run")
    parser.add_argument("--callers", type=int, default=1000, help="callers (default 1000)")
    parser.add_argument("--agents", type=int, default=200, help="agents (default 200)")
    parser.add_argument("--rate", type=float, default=50.0,
                        help="callers arriving per second (default 50)")
    parser.add_argument("--window", type=float, default=20.0,
                        help="seconds measured once every caller waits (default 20)")
    parser.add_argument("--only", choices=("ours", "app_queue"))
    add_loop_argument(parser)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    if not (0 < args.callers <= MAX_CALLERS and 0 < args.agents <= MAX_AGENTS
            and 0 < args.window <= MAX_WINDOW and 0 < args.rate <= 200):
        parser.error(f"at most {MAX_CALLERS} callers, {MAX_AGENTS} agents, a {MAX_WINDOW:g} s "
                     "window, 200 callers per second")
    return args


def say(text: str) -> None:
    print(f"[bench-waiting {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = parse(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pbx-bench-waiting-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, filename=str(workdir / "app.log"))
    say(f"{args.callers} callers at {args.rate:g}/s, {args.agents} paused agents, a "
        f"{args.window:g} s window; load average {load_average():.2f} on {os.cpu_count()} "
        f"cores; workdir {workdir}")
    sandbox = start_sandbox(f"bench-waiting-{os.getpid()}")
    results: list[Waiting] = []
    try:
        for flow in ("app_queue", "ours"):
            if args.only and flow != args.only:
                continue
            say(f"{flow}: running")
            if flow == "app_queue":
                results.append(run_app_queue(sandbox, callers=args.callers, agents=args.agents,
                                             rate=args.rate, window=args.window,
                                             workdir=workdir / flow))
            else:
                (workdir / flow).mkdir(parents=True, exist_ok=True)
                results.append(eventloop.run(run_ours(
                    sandbox, callers=args.callers, agents=args.agents, rate=args.rate,
                    window=args.window, workdir=workdir / flow,
                    db_url=f"sqlite+aiosqlite:///{workdir}/pbx.db"), args.loop))
            time.sleep(2)
    finally:
        sandbox.discard()
    text = "\n".join([f"scripts/bench-waiting {' '.join(argv)}".rstrip(),
                      f"both flows on one sandbox instance, in the same run; {os.cpu_count()} "
                      "cores", "", report(results)])
    print(text)
    (workdir / "report.txt").write_text(text + "\n")
    return 0
