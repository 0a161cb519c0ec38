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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from benchlib import feed_client
from benchlib.feed_client import client_main
from benchlib.system import free_port, load_average
from benchlib.traces import percentile
from pbx_stasis.acd.topics import QUEUE_STATS, QueueStatsChanged
from pbx_stasis.bus import Bus
from pbx_stasis.config import CallSettings, Settings
from pbx_stasis.plugins import web_app
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.web.app import SITE, WebContext
from pbx_stasis.web.sessions import COOKIE

assert feed_client.COOKIE == COOKIE, "the client process's cookie name is the app's"

P99_BAR_MS = 50.0
MAX_CLIENTS, MAX_EVENTS = 2_000, 5_000
TIMER_S = 0.010  # the lag probe's period
SCRIPT = Path(__file__).resolve().parents[1] / "bench-feed"


@dataclass(frozen=True)
class LoopWindow:
    """The publishing process over one window: publish() time, loop lag, CPU."""

    label: str
    publish_ms: list[float]
    lag_ms: list[float]
    cpu_s: float
    wall_s: float


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


async def publish(bus: Bus, tenant_id: int, events: int, rate: float, label: str,
                  sent: dict[int, float], first: int) -> LoopWindow:
    probe = LagProbe()
    probe.start()
    cpu, wall = _cpu(), time.monotonic()
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
    await asyncio.sleep(0.5)  # the last event's sends
    return LoopWindow(label, took, await probe.stop(), _cpu() - cpu, time.monotonic() - wall)


async def serve(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_url = f"sqlite+aiosqlite:///{workdir}/feed.db"
    await migrate.upgrade(db_url)
    db = Database.connect(db_url)
    bus = Bus()
    settings = Settings(calls=CallSettings(tenant="default"))
    app = web_app(WebContext(db=db, bus=bus, settings=settings), [])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port(range(18100, 18900), tcp=True)
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        boss = await Directory(db).add_user("default", "wallboard", "supervisor")
        sessions = app[SITE].sessions
        cookies = [await sessions.open(boss.id, boss.tenant_id, "127.0.0.1", "bench-feed")
                   for _ in range(args.clients)]
        sent: dict[int, float] = {}
        # The publishing process alone first: no client, nobody subscribed.
        quiet = await publish(bus, boss.tenant_id, args.events, args.rate, "no client", sent, 0)
        sent.clear()
        share = [cookies[n::args.processes] for n in range(args.processes)]
        files = await asyncio.to_thread(
            start_clients, workdir, share, f"ws://127.0.0.1:{port}/ws", args.events, processes)
        # Generous: a client process imports aiohttp and opens its sockets on a shared machine.
        deadline = time.monotonic() + 120 + args.clients / 5
        while not all(ready.exists() for _, ready in files):
            if time.monotonic() > deadline:
                raise RuntimeError("the feed clients did not all subscribe in time")
            await asyncio.sleep(0.2)
        subscribed = sum(int(ready.read_text() or 0) for _, ready in files)
        say(f"{subscribed} of {args.clients} clients subscribed; publishing")
        loaded = await publish(bus, boss.tenant_id, args.events, args.rate,
                               f"{args.clients} clients", sent, args.events)
        for process in processes:
            await asyncio.to_thread(process.wait, 60 + args.events)
        received = []
        errors: list[str] = []
        for out, _ in files:
            data = json.loads(out.read_text())
            received.extend(data["received"])
            errors.extend(data["errors"])
        return {"sent": sent, "received": received, "windows": [quiet, loaded],
                "subscribed": subscribed, "errors": errors}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
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
    lines = [
        f"scripts/bench-feed --clients {args.clients} --events {args.events} --rate "
        f"{args.rate:g} --processes {args.processes}",
        f"{os.cpu_count()} cores, load average {load_average():.2f}; {result['subscribed']} "
        f"clients subscribed",
        "",
        f"delivery, bus.publish -> a client has the event (ms), {len(latencies)} of "
        f"{deliveries} deliveries, {missing} missing:",
        f"  p50 {_fmt(latencies, 50)} / p95 {_fmt(latencies, 95)} / p99 {_fmt(latencies, 99)} "
        f"/ max {_fmt(latencies, 100)}",
        "",
        "the publishing process, the same events at the same rate (same run):",
        "",
        "| | bus.publish p50 / p99 (ms) | event loop lag p50 / p99 / max (ms) | CPU (s) in the "
        "window | window (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for window in result["windows"]:
        lines.append(
            f"| {window.label} | {_fmt(window.publish_ms, 50)} / {_fmt(window.publish_ms, 99)} | "
            f"{_fmt(window.lag_ms, 50)} / {_fmt(window.lag_ms, 99)} / "
            f"{_fmt(window.lag_ms, 100)} | {window.cpu_s:.2f} | {window.wall_s:.1f} |")
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
        f"{args.rate:g}/s; load average {load_average():.2f}; workdir {workdir}")
    result = asyncio.run(serve(args, workdir))
    text = report(args, result)
    print(text)
    (workdir / "report.txt").write_text(text + "\n")
    return 0
