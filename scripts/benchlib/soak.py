"""scripts/soak: a real `pbx run` process under a steady load for minutes, its memory and CPU
sampled from /proc every 30 s; at the end the failed calls, the channels left in Asterisk and
the agents not back to available (docs/benchmarks.md, "Soak").

The bench's load (benchlib.load: bench-caller.xml callers, one sipp desk phone answering every
agent) on a private sandbox instance; the app is `pbx run` as deployed (web included), its
number 100 routed to the queue by an IVR flow whose entry is the queue node.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sandbox import Sandbox, SandboxError

from benchlib.load import CallerRun, DeskPhones, call, prepare_callers, tokens
from benchlib.main import OURS_QUEUE, start_sandbox
from benchlib.phases import wait_no_channels
from benchlib.system import free_port, load_average, process_cpu
from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.store import Database, Directory, migrate
from pbx_stasis.store.journal import NewEvent
from pbx_stasis.web.auth import hash_password

REPO = Path(__file__).resolve().parents[2]
QUEUE = "soak"
DID = "100"  # what bench-caller.xml dials
MAX_MINUTES = 60.0
MAX_RATE = 20.0
ADMIN_PASSWORD = "soak-admin-1"
FLOW = f"""\
flows:
  soak:
    description: The soak's line, straight to its queue
    dids: ["{DID}"]
    entry: to_queue
    nodes:
      to_queue: {{kind: queue, queue: {QUEUE}}}
"""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/soak",
        description="sipp callers -> a queue -> sipp agents through a real `pbx run` for "
        "minutes; prints the app's RSS and CPU every --every seconds, then memory growth, CPU "
        "per call, failed calls and what is left stuck.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of calling (10)")
    parser.add_argument("--rate", type=float, default=5.0, help="calls per second (5)")
    parser.add_argument("--agents", type=int, default=10, help="sipp agents (10)")
    parser.add_argument("--talk-ms", type=int, default=1000,
                        help="the caller hangs up this long after being answered (1000)")
    parser.add_argument("--ring-ms", type=int, default=50, help="agents ring this long (50)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples (30)")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="seconds the app is measured idle before the calls (30)")
    parser.add_argument("--workdir", type=Path, help="default: a new /tmp/pbx-soak-*")
    args = parser.parse_args(argv)
    if not (0 < args.minutes <= MAX_MINUTES and 0 < args.rate <= MAX_RATE):
        parser.error(f"--minutes in (0, {MAX_MINUTES:g}], --rate in (0, {MAX_RATE:g}]")
    if args.agents < 1 or args.every < 1 or args.idle < 0:
        parser.error("--agents and --every must be positive, --idle not negative")
    return args


def say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", flush=True)


def rss_mib(pid: int) -> float:
    """The process's resident memory (VmRSS), MiB."""
    found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(found.group(1)) / 1024 if found else 0.0


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the calls began (negative: idle before them)
    rss: float  # MiB
    cpu: float  # the app's CPU seconds since it started


async def prepare(db_url: str, agents: int, phones: DeskPhones) -> None:
    """Tenant, queue, agents (desk-phone contacts) logged in through the journal the app
    restores logins from, and an admin for the end's look at the agents."""
    await migrate.upgrade(db_url)
    db = Database.connect(db_url)
    try:
        users = Directory(db)
        tenant = await users.ensure_tenant("default")
        await AcdDirectory(db).save_queue(tenant.id, QUEUE, dict(OURS_QUEUE))
        await users.add_user("default", "admin", "admin",
                             password_hash=hash_password(ADMIN_PASSWORD))
        for n in range(1, agents + 1):
            user = await users.add_user("default", f"soak{n}", "agent")
            await AcdDirectory(db).save_agent(user.id, queues={QUEUE: 0},
                                              contact=phones.contact(f"soak{n}"))
            db.writes.append([NewEvent(tenant_id=tenant.id, event="LOGIN", queue=QUEUE,
                                       agent_user_id=user.id, data={"agent": f"soak{n}"},
                                       at=datetime.now(UTC))])
        await db.writes.settle()
    finally:
        await db.dispose()


def pbx(env: dict[str, str], *argv: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pbx_stasis.cli.main", *argv], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pbx {' '.join(argv)}: {done.stderr.strip()}")


def wait_for_log(log: Path, text: str, proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"pbx run did not say {text!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


async def agents_not_available(web: str) -> list[str]:
    """The agents the app does not show available (their name and state), through its API."""
    async with aiohttp.ClientSession(base_url=web,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        html = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if token is None:
            return ["(no login form)"]
        await client.post("/login", allow_redirects=False, data={
            "tenant": "default", "username": "admin", "password": ADMIN_PASSWORD,
            "csrf_token": token.group(1), "next": ""})
        answer = await client.get("/api/agents")
        if answer.status != 200:
            return [f"(agents not read: HTTP {answer.status})"]
        board: Any = await answer.json()
    people = board.get("agents", []) if isinstance(board, dict) else []
    if not people:
        return ["(no agent listed)"]
    return [f"{a.get('name')}: {a.get('state')} ({a.get('reason')})" for a in people
            if a.get("state") != "available"]


def main(argv: list[str]) -> int:
    args = parse(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pbx-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    calls = round(args.rate * args.minutes * 60)
    say(f"{calls} calls at {args.rate:g}/s for {args.minutes:g} min, {args.agents} agents, "
        f"talk {args.talk_ms} ms; load average {load_average():.2f} on {os.cpu_count()} cores; "
        f"workdir {workdir}")
    sandbox: Sandbox | None = None
    app: subprocess.Popen[bytes] | None = None
    phones: DeskPhones | None = None
    samples: list[Sample] = []
    try:
        sandbox = start_sandbox(f"soak-{os.getpid()}")
        lifetime = args.idle + args.minutes * 60 + args.talk_ms / 1000 + 240
        phones = DeskPhones(workdir, ring_ms=args.ring_ms, lifetime=lifetime)
        db_url = f"sqlite+aiosqlite:///{workdir}/pbx.db"
        for stale in workdir.glob("pbx.db*"):
            stale.unlink()
        asyncio.run(prepare(db_url, args.agents, phones))
        web_port = free_port(range(18000, 18999), tcp=True)
        env = {**os.environ, **sandbox.app_env(), "PBX_DATABASE_URL": db_url,
               "PBX_WEB_PORT": str(web_port), "PYTHONPATH": str(REPO)}
        (workdir / "flow.yaml").write_text(FLOW)
        pbx(env, "ivr", "apply", str(workdir / "flow.yaml"), "--no-sound-check")
        log = workdir / "app.log"
        with log.open("wb") as out:
            app = subprocess.Popen([sys.executable, "-m", "pbx_stasis.cli.main", "run"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_for_log(log, "web pages at", app, 60)
        pid = app.pid
        say(f"pbx run (pid {pid}) serving; sandbox {sandbox.name} at {sandbox.ari_url}")
        samples.append(Sample(-args.idle, rss_mib(pid), process_cpu(pid)))
        time.sleep(args.idle)  # what the app costs with no call: pollers, timers
        samples.append(Sample(0.0, rss_mib(pid), process_cpu(pid)))
        idle_cpu = samples[1].cpu - samples[0].cpu
        say(f"idle {args.idle:g} s: CPU {idle_cpu * 1000 / max(args.idle, 1e-9):.1f} ms/s, "
            f"RSS {samples[1].rss:.1f} MiB")
        prepare_callers(workdir)
        result: list[CallerRun] = []
        target = sandbox.sip_target
        caller = threading.Thread(target=lambda: result.append(call(
            workdir, "callers", target, tokens(1, calls), rate=args.rate,
            talk_ms=args.talk_ms)))
        began = time.monotonic()
        caller.start()
        say("   t(s)  RSS MiB   CPU ms/s  CPU% of a core")
        while caller.is_alive():
            caller.join(args.every)
            last = samples[-1]
            sample = Sample(time.monotonic() - began, rss_mib(pid), process_cpu(pid))
            samples.append(sample)
            span = max(sample.at - last.at, 1e-9)
            rate_ms = (sample.cpu - last.cpu) * 1000 / span
            say(f"{sample.at:7.0f}  {sample.rss:7.1f}  {rate_ms:9.1f}  {rate_ms / 10:6.1f}")
        calling = time.monotonic() - began
        left = wait_no_channels(sandbox)
        done = samples[-1]
        run = result[0].result if result else None
        stuck_agents = asyncio.run(agents_not_available(f"http://127.0.0.1:{web_port}"))
        bridges = sandbox.ari("GET", "bridges")
        bridges_left = len(bridges) if isinstance(bridges, list) else 0
    finally:
        if app is not None and app.poll() is None:
            app.terminate()
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
        if phones is not None:
            phones.stop()
        if sandbox is not None:
            try:
                sandbox.discard()
            except SandboxError as problem:
                say(f"could not stop the sandbox: {problem}")
    first = next((s for s in samples if s.at >= 60), samples[1])  # after a minute's warm-up
    growth = (done.rss - first.rss) / first.rss * 100 if first.rss else 0.0
    half = [s for s in samples if s.at >= done.at / 2]
    slope = ((half[-1].rss - half[0].rss) / max((half[-1].at - half[0].at) / 60, 1e-9)
             if len(half) > 1 else 0.0)
    busy_cpu = done.cpu - samples[1].cpu
    per_second = idle_cpu / max(args.idle, 1e-9)
    answered = run.successful if run is not None else 0
    lines = [
        f"scripts/soak {' '.join(argv)}".rstrip(),
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average now "
        f"{load_average():.2f}",
        f"calls: {answered}/{calls} successful, {run.failed if run else calls} failed "
        f"(sipp exit {run.returncode if run else '-'}), over {calling:.0f} s",
        f"memory: RSS {first.rss:.1f} MiB at {first.at:.0f} s -> {done.rss:.1f} MiB at "
        f"{done.at:.0f} s ({growth:+.1f}%); second half {slope:+.2f} MiB/min",
        f"CPU: {busy_cpu:.1f} s while calling = {busy_cpu * 1000 / max(answered, 1):.1f} ms per "
        f"call; idle {per_second * 1000:.1f} ms/s (= {per_second * 1000 / args.rate:.1f} ms per "
        f"call at {args.rate:g}/s, the fixed part)",
        f"left at the end: {left} channel(s), {bridges_left} bridge(s) in Asterisk; agents not "
        f"available: {len(stuck_agents)} {stuck_agents[:5] or ''}".rstrip(),
    ]
    say("done")
    print("\n".join(lines))
    (workdir / "report.txt").write_text("\n".join(lines) + "\n")
    return 0 if run is not None and run.ok and not left and not stuck_agents else 1
