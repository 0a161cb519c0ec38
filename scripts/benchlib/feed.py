"""scripts/bench-feed: the wallboard fan-out. The real web app (every plugin, its /ws feed) on
loopback, N WebSocket clients in client processes of their own, each a supervisor's session
subscribed to `queue:stats`; the ACD's event (QueueStatsChanged) published on the bus at a
rate. Measured, in the same run:

- delivery: each event's time from `bus.publish` to each client's receipt (one clock: the
  machine's), and any event a client never got;
- the publishing side: the time `bus.publish` takes and the event loop's lag (a 10 ms timer's
  overshoot) with no client first, then with every client: what the feed costs the process the
  Stasis app runs in when web and Stasis share a process (`pbx run`'s default); in a split
  deployment the Stasis process sends each event once to the web process instead.

`--split` measures that split deployment: the feed in a web process of its own (`pbx run --part
web`, this checkout's code), fed by this process through remote/ (the real `rpc_app` relaying
the bus's events, as `pbx run --part stasis` serves them). This process is then the Stasis side:
its publish time, loop lag and CPU are what the 500 clients cost it; the web process's CPU is
read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from benchlib import feed_client
from benchlib.feed_client import client_main
from benchlib.system import add_loop_argument, free_port, load_average
from benchlib.traces import percentile
from pbx_stasis.acd.topics import QUEUE_STATS, QueueStatsChanged
from pbx_stasis.bus import Bus
from pbx_stasis.cli import eventloop
from pbx_stasis.config import CallSettings, Settings
from pbx_stasis.plugins import TOPICS, web_app
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.web import feed as feed_module
from pbx_stasis.web.app import SITE, WebContext
from pbx_stasis.web.sessions import COOKIE

assert feed_client.COOKIE == COOKIE, "the client process's cookie name is the app's"

P99_BAR_MS = 50.0
MAX_CLIENTS, MAX_EVENTS = 2_000, 5_000
TIMER_S = 0.010  # the lag probe's period
SCRIPT = Path(__file__).resolve().parents[1] / "bench-feed"
REPO = Path(__file__).resolve().parents[2]
SECRET = "bench-feed"  # the split deployment's PBX_RPC_SECRET, on loopback


@dataclass(frozen=True)
class LoopWindow:
    """The publishing process over one window: publish() time, loop lag, CPU."""

    label: str
    publish_ms: list[float]
    lag_ms: list[float]
    cpu_s: float
    wall_s: float
    web_cpu_s: float | None = None  # --split: the web process's


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-feed",
        description="N WebSocket feed clients on loopback; an ACD event published on the bus "
        "reaches every one: the latency, and what it costs the publishing process")
    parser.add_argument("--clients", type=int, default=500, help="feed clients (default 500)")
    parser.add_argument("--events", type=int, default=200, help="events published (default 200)")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="events per second (default 20: a busy center's queue:stats)")
    parser.add_argument("--processes", type=int, default=2,
                        help="client processes the clients are spread over (default 2)")
    parser.add_argument("--split", action="store_true",
                        help="the feed in a web process of its own (pbx run --part web), fed "
                        "through remote/ by this process, the Stasis side")
    add_loop_argument(parser)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--client", nargs=5, metavar=("URL", "COOKIES", "OUT", "READY", "EVENTS"),
                        help=argparse.SUPPRESS)  # a client process (started by the bench)
    args = parser.parse_args(argv)
    if args.client is None and not (0 < args.clients <= MAX_CLIENTS
                                    and 0 < args.events <= MAX_EVENTS and 0 < args.rate <= 500
                                    and 0 < args.processes <= 8):
        parser.error(f"at most {MAX_CLIENTS} clients, {MAX_EVENTS} events, 500 events/s, "
                     "8 processes")
    return args


def say(text: str) -> None:
    print(f"[bench-feed {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the server side


def stats(n: int) -> QueueStatsChanged:
    return QueueStatsChanged(queue="support", waiting=n % 40, oldest_waiting_since=datetime.now(
        UTC), agents_logged_in=200, agents_available=n % 200, offered_today=n,
        answered_today=n, abandoned_today=0, answered_in_service_level_today=n,
        handle_seconds_today=180.0 * n, handled_today=n, service_level_today=0.9)


class LagProbe:
    """A timer's overshoot on this event loop, while it runs."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TIMER_S)
            self.lags.append((time.perf_counter() - started - TIMER_S) * 1000)

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return self.lags


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class FanoutWatch:
    """When the app's fan-out (web/fanout.py) had written each event to every socket but a
    stalled one. Its ready queue is FIFO: an event published when `queued` sockets had ever
    been queued is written once `flushed` reaches that count (a socket queued before holds its
    place). The bench wraps the fan-out's two methods; the app is unchanged."""

    def __init__(self, fanout: Any) -> None:
        self.queued = self.flushed = 0
        self.marks: dict[int, int] = {}  # seq -> sockets queued once it was published
        self.progress: list[tuple[float, int]] = []  # (time, sockets flushed by then)
        ready, flush = fanout.ready, fanout._flush

        def counted_ready(outlet: Any) -> None:
            before = len(fanout._ready)
            ready(outlet)
            self.queued += len(fanout._ready) - before

        def timed_flush() -> None:
            before = len(fanout._ready)
            flush()
            self.flushed += before - len(fanout._ready)
            self.progress.append((time.time(), self.flushed))

        fanout.ready, fanout._flush = counted_ready, timed_flush  # looked up at each call

    def mark(self, seq: int) -> None:
        self.marks[seq] = self.queued

    def written(self, sent: dict[int, float]) -> list[float]:
        """Each event's time from publish to written (ms)."""
        counts = [count for _, count in self.progress]
        out = []
        for seq, mark in self.marks.items():
            index = bisect.bisect_left(counts, mark)
            if seq in sent and index < len(counts):
                out.append((self.progress[index][0] - sent[seq]) * 1000)
        return out


def watch_fanout(app: web.Application) -> FanoutWatch | None:
    """None when the code has no fan-out (main before web/fanout.py)."""
    key = getattr(feed_module, "FANOUT", None)
    return None if key is None else FanoutWatch(app[key])


def process_cpu(pid: int) -> float:
    """Another process's CPU seconds so far (user + system, /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish(bus: Bus, tenant_id: int, events: int, rate: float, label: str,
                  sent: dict[int, float], first: int,
                  web_cpu: Callable[[], float] | None = None,
                  watch: FanoutWatch | None = None) -> LoopWindow:
    probe = LagProbe()
    probe.start()
    cpu, wall = _cpu(), time.monotonic()
    web_before = web_cpu() if web_cpu is not None else 0.0
    took: list[float] = []
    start = time.monotonic()
    for n in range(events):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        payload = stats(first + n)
        at = time.time()
        before = time.perf_counter()
        event = bus.publish(QUEUE_STATS, tenant_id, payload)
        took.append((time.perf_counter() - before) * 1000)
        sent[event.seq] = at
        if watch is not None:
            watch.mark(event.seq)
    await asyncio.sleep(0.5)  # the last event's sends
    return LoopWindow(label, took, await probe.stop(), _cpu() - cpu, time.monotonic() - wall,
                      web_cpu() - web_before if web_cpu is not None else None)


def start_web(log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as log_file:
        return subprocess.Popen([str(Path(sys.executable).with_name("pbx")), "run", "--part",
                                 "web"], env=env, stdout=log_file, stderr=subprocess.STDOUT)


async def split_web(args: argparse.Namespace, workdir: Path, db_url: str, bus: Bus,
                    tenant_id: int, runners: list[web.AppRunner],
                    processes: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    """The split deployment: this process serves the bus's feed topics as `pbx run --part
    stasis` does (remote/'s rpc_app), and `pbx run --part web` runs the pages and the feed,
    relaying them. Its pid and port, once it is up and relaying."""
    rpc = web.AppRunner(rpc_app(bus, SECRET, [], [], TOPICS), access_log=None)
    await rpc.setup()
    runners.append(rpc)
    rpc_port = free_port(range(18100, 18500), tcp=True)
    await web.TCPSite(rpc, "127.0.0.1", rpc_port).start()
    web_port = free_port(range(18500, 18900), tcp=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
               str(REPO), os.environ.get("PYTHONPATH")])),  # this checkout's code
           "PBX_DATABASE_URL": db_url, "PBX_RPC_SECRET": SECRET,
           "PBX_RPC_URL": f"http://127.0.0.1:{rpc_port}", "PBX_WEB_ENABLED": "true",
           "PBX_WEB_HOST": "127.0.0.1", "PBX_WEB_PORT": str(web_port),
           eventloop.VARIABLE: eventloop.chosen(args.loop)}  # the web part on the same loop
    process = await asyncio.to_thread(start_web, workdir / "web.log", env)
    processes.append(process)
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pbx run --part web exited {process.returncode}: see "
                                   f"{workdir / 'web.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("pbx run --part web did not come up in time")
            try:
                async with session.get(f"http://127.0.0.1:{web_port}/healthz") as answer:
                    up = answer.status == 200
            except aiohttp.ClientError:
                up = False
            if up and bus.listened(QUEUE_STATS, tenant_id):  # its relay subscribed here
                return process.pid, web_port
            await asyncio.sleep(0.2)


async def serve(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_url = f"sqlite+aiosqlite:///{workdir}/feed.db"
    await migrate.upgrade(db_url)
    db = Database.connect(db_url)
    bus = Bus()
    settings = Settings(calls=CallSettings(tenant="default"))
    # Split: built only to open the sessions (in the database the web process reads).
    app = web_app(WebContext(db=db, bus=bus, settings=settings), [])
    runners: list[web.AppRunner] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        boss = await Directory(db).add_user("default", "wallboard", "supervisor")
        web_cpu: Callable[[], float] | None = None
        if args.split:
            pid, port = await split_web(args, workdir, db_url, bus, boss.tenant_id, runners,
                                        processes)

            def web_cpu() -> float:
                return process_cpu(pid)
        else:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            port = free_port(range(18100, 18900), tcp=True)
            await web.TCPSite(runner, "127.0.0.1", port).start()
        watch = None if args.split else watch_fanout(app)
        sessions = app[SITE].sessions
        cookies = [await sessions.open(boss.id, boss.tenant_id, "127.0.0.1", "bench-feed")
                   for _ in range(args.clients)]
        sent: dict[int, float] = {}
        # The publishing process alone first: no client (split: the web process relaying).
        quiet = await publish(bus, boss.tenant_id, args.events, args.rate, "no client", sent, 0,
                              web_cpu)
        sent.clear()
        share = [cookies[n::args.processes] for n in range(args.processes)]
        clients: list[subprocess.Popen[bytes]] = []
        files = await asyncio.to_thread(
            start_clients, workdir, share, f"ws://127.0.0.1:{port}/ws", args.events, clients)
        processes.extend(clients)
        # Generous: a client process imports aiohttp and opens its sockets on a shared machine.
        deadline = time.monotonic() + 120 + args.clients / 5
        while not all(ready.exists() for _, ready in files):
            if time.monotonic() > deadline:
                raise RuntimeError("the feed clients did not all subscribe in time")
            await asyncio.sleep(0.2)
        subscribed = sum(int(ready.read_text() or 0) for _, ready in files)
        say(f"{subscribed} of {args.clients} clients subscribed; publishing")
        loaded = await publish(bus, boss.tenant_id, args.events, args.rate,
                               f"{args.clients} clients", sent, args.events, web_cpu, watch)
        for process in clients:
            await asyncio.to_thread(process.wait, 60 + args.events)
        received = []
        errors: list[str] = []
        client_cpu: list[float] = []
        for out, _ in files:
            data = json.loads(out.read_text())
            received.extend(data["received"])
            errors.extend(data["errors"])
            client_cpu.append(data.get("cpu_s", 0.0))
        return {"sent": sent, "received": received, "windows": [quiet, loaded],
                "subscribed": subscribed, "errors": errors, "client_cpu": client_cpu,
                "written": watch.written(sent) if watch is not None else None}
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    await asyncio.to_thread(process.wait, 15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for runner in runners:
            await runner.cleanup()
        await db.dispose()


def _fmt(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "-" if value is None else f"{value:.2f}"


def report(args: argparse.Namespace, result: dict[str, Any]) -> str:
    sent: dict[int, float] = result["sent"]
    latencies: list[float] = []
    missing = 0
    for got in result["received"]:
        seqs = {seq: at for seq, at in got}
        missing += sum(1 for seq in sent if seq not in seqs)
        latencies.extend((at - sent[seq]) * 1000 for seq, at in seqs.items() if seq in sent)
    deliveries = len(sent) * args.clients
    p99 = percentile(latencies, 99)
    split = args.split
    lines = [
        f"scripts/bench-feed --clients {args.clients} --events {args.events} --rate "
        f"{args.rate:g} --processes {args.processes}{' --split' if split else ''}",
        f"{os.cpu_count()} cores, load average {load_average():.2f}; {result['subscribed']} "
        f"clients subscribed",
        "",
        f"delivery, bus.publish -> a client has the event (ms), {len(latencies)} of "
        f"{deliveries} deliveries, {missing} missing:",
        f"  p50 {_fmt(latencies, 50)} / p95 {_fmt(latencies, 95)} / p99 {_fmt(latencies, 99)} "
        f"/ max {_fmt(latencies, 100)}",
        # Their CPU: on a shared machine, a browser's reading is in the latency too.
        "  the client processes' CPU (s, each, from their start): "
        + ", ".join(f"{cpu:.2f}" for cpu in result["client_cpu"]),
    ]
    if result["written"] is not None:  # where the server's part ends
        lines.append(
            "  bus.publish -> the frame written to every socket's transport but a stalled "
            f"one's (the server's part, ms): p50 {_fmt(result['written'], 50)} / p99 "
            f"{_fmt(result['written'], 99)} / max {_fmt(result['written'], 100)}")
    lines += [
        "",
        "the publishing process" + (" (the Stasis side; the feed in `pbx run --part web`)"
                                    if split else "") +
        ", the same events at the same rate (same run):",
        "",
        "| | bus.publish p50 / p99 (ms) | event loop lag p50 / p99 / max (ms) | CPU (s) in the "
        "window | window (s) |" + (" web process CPU (s) |" if split else ""),
        "|---|---:|---:|---:|---:|" + ("---:|" if split else ""),
    ]
    for window in result["windows"]:
        lines.append(
            f"| {window.label} | {_fmt(window.publish_ms, 50)} / {_fmt(window.publish_ms, 99)} | "
            f"{_fmt(window.lag_ms, 50)} / {_fmt(window.lag_ms, 99)} / "
            f"{_fmt(window.lag_ms, 100)} | {window.cpu_s:.2f} | {window.wall_s:.1f} |"
            + (f" {window.web_cpu_s:.2f} |" if window.web_cpu_s is not None else ""))
    if result["errors"]:
        lines += ["", f"client errors: {result['errors'][:3]}"]
    ok = missing == 0 and p99 is not None and p99 < P99_BAR_MS
    lines += ["", f"every client got every event, p99 under {P99_BAR_MS:g} ms -> "
              f"{'OK' if ok else 'MISSED'}"]
    return "\n".join(lines)


def start_clients(workdir: Path, share: list[list[str]], url: str, events: int,
                  processes: list[subprocess.Popen[bytes]]) -> list[tuple[Path, Path]]:
    """One client process per share of the cookies; their (result, ready) files."""
    files = []
    for n, part in enumerate(share):
        cookie_file = workdir / f"cookies-{n}.json"
        cookie_file.write_text(json.dumps(part))
        out, ready = workdir / f"client-{n}.json", workdir / f"ready-{n}"
        ready.unlink(missing_ok=True)
        files.append((out, ready))
        processes.append(subprocess.Popen(
            [sys.executable, str(SCRIPT), "--client", url, str(cookie_file), str(out),
             str(ready), str(events)]))
    return files


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.client is not None:
        return client_main(args.client)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pbx-bench-feed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.glob("feed.db*"):  # a fresh database for every run
        stale.unlink()
    say(f"{args.clients} clients in {args.processes} processes, {args.events} events at "
        f"{args.rate:g}/s{', split' if args.split else ''}; load average "
        f"{load_average():.2f}; workdir {workdir}")
    result = eventloop.run(serve(args, workdir), args.loop)
    text = report(args, result)
    print(text)
    (workdir / "report.txt").write_text(text + "\n")
    return 0
