"""scripts/bench: command line, a private sandbox instance, both flows, the report."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sandbox import Sandbox, SandboxError

from benchlib.capacity import LADDER, capacity_report, run_capacity
from benchlib.floor import floor_text, run_floor
from benchlib.load import Load
from benchlib.phases import NEEDS_PY_SPY, PhaseResult, py_spy, run_app_queue, run_ours
from benchlib.report import (
    breakdown,
    failures_text,
    figures,
    rounds_text,
    summarize_calls,
    summarize_profile,
    table,
    verdict,
    write_results,
)
from benchlib.system import add_loop_argument, free_port, load_average
from pbx_stasis.cli import eventloop

FULL = {"rate": 50.0, "duration": 60.0, "agents": 50}
QUICK = {"rate": 10.0, "duration": 10.0, "agents": 10}
MAX_CALLS = 20_000  # every run stays bounded, whatever the arguments
MAX_DURATION = 600.0
MAX_ROUNDS = 10
# The ACD queue, set like queues.conf [bench] so both flows do the same job.
OURS_QUEUE = {
    "strategy": "longest-idle",  # app_queue: leastrecent
    "ring_in_use": False,  # ringinuse = no
    "wrapup": 0,  # wrapuptime = 0
    "ring_timeout": 15,  # timeout = 15
    "retry_delay": 1,  # retry = 1
    "autopause_after": None,  # app_queue's autopause is off by default
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="sipp callers -> a queue -> N auto-answering sipp agents, through the Python "
        "ACD and through app_queue, on one private sandbox Asterisk, in the same run.",
    )
    parser.add_argument("--rate", type=float, help="calls per second (default 50; quick 10)")
    parser.add_argument("--duration", type=float, help="seconds of calling (default 60; quick 10)")
    parser.add_argument("--agents", type=int, help="agents (default 50; quick 10)")
    parser.add_argument("--quick", action="store_true", help="10 calls/s for 10 s, 10 agents")
    parser.add_argument("--instance", help="sandbox instance name (default bench-PID); it must "
                        "not be running: the bench starts it on free ports and removes it after")
    parser.add_argument("--talk-ms", type=int, default=500,
                        help="the caller hangs up this long after being answered (default 500)")
    parser.add_argument("--ring-ms", type=int, default=50,
                        help="the desk phones ring this long before answering (default 50)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="unmeasured calls before each flow (default 10)")
    parser.add_argument("--only", choices=("ours", "app_queue", "floor"),
                        help="run one flow only")
    parser.add_argument("--floor", action="store_true",
                        help="also run the floor (benchlib/floor.py): the least Python serving "
                        "the same calls over ARI, for what the protocol itself costs")
    parser.add_argument("--order", choices=("app_queue-first", "ours-first"),
                        default="app_queue-first")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the flows this many times, the order reversed every other "
                        "round, and print each round's CPU a call and the ratios' median: the "
                        "host's speed drifts by 20%% within minutes (default 1)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="the app's database: SQLite file (default) or a throwaway "
                        "PostgreSQL server (tests/pg.py, needs Debian's postgresql)")
    parser.add_argument("--profile", action="store_true",
                        help="sample the app with py-spy during its flow (pip install py-spy)")
    parser.add_argument("--count-calls", action="store_true",
                        help="count ours' function calls during its flow with cProfile: a "
                        "figure the host's speed does not move (cProfile slows the app: read "
                        "no CPU or latency figure of that run)")
    parser.add_argument("--capacity", action="store_true",
                        help="raise the rate step by step until a call fails or p99 caller "
                        "INVITE -> agent INVITE passes 50 ms, both flows in the same run; prints "
                        "the highest rate each sustains")
    parser.add_argument("--step-seconds", type=float, default=15.0,
                        help="--capacity: seconds of calling per step (default 15)")
    parser.add_argument("--top", type=float, default=max(LADDER),
                        help=f"--capacity: the highest rate tried (default {max(LADDER):g})")
    parser.add_argument("--ladder", type=_rates, default=LADDER,
                        help="--capacity: the rates tried, ascending, comma-separated (default "
                        f"{','.join(f'{r:g}' for r in LADDER)}; a finer one near the ceilings "
                        "tells them apart better)")
    add_loop_argument(parser)
    parser.add_argument("--bridge-events", action="store_true",
                        help="time bridging by the agent leg's ChannelEnteredBridge: 2 ARI "
                             "events a call that `pbx run` filters out, so their cost is counted "
                             "too")
    parser.add_argument("--workdir", type=Path,
                        help="where traces and results go (default a new /tmp/pbx-bench-*)")
    parser.add_argument("--keep-instance", action="store_true",
                        help="stop the instance at the end but keep its directory (logs)")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.rate <= 0 or args.duration <= 0 or args.agents < 1:
        parser.error("--rate, --duration and --agents must be positive")
    if args.duration > MAX_DURATION or args.rate * args.duration > MAX_CALLS:
        parser.error(f"at most {MAX_DURATION:.0f} s and {MAX_CALLS} calls per flow")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds: 1 to {MAX_ROUNDS}")
    if args.rounds > 1 and (args.only or args.capacity):
        parser.error("--rounds compares flows: not with --only or --capacity")
    if args.capacity and not 0 < args.step_seconds <= 60:
        parser.error("--step-seconds: 1 to 60")
    if args.instance == "default":
        parser.error("the bench needs an instance of its own, not `default`")
    if args.profile and py_spy() is None:
        parser.error(NEEDS_PY_SPY)
    if args.count_calls and (args.profile or args.capacity):
        parser.error("--count-calls: not with --profile (two profilers) or --capacity")
    return args


def _rates(text: str) -> tuple[float, ...]:
    """--ladder's value: ascending rates, each above 0 and at most the ladder's top."""
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not all(0 < rate <= max(LADDER) for rate in rates) or list(rates) != sorted(set(rates)):
        raise argparse.ArgumentTypeError(
            f"ascending rates above 0, at most {max(LADDER):g} calls/s: {text!r}")
    return rates


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def start_sandbox(name: str) -> Sandbox:
    probe = Sandbox.for_instance(name)
    probe.require_installed()
    if probe.is_running():
        raise SandboxError(f"instance {name} is already running: pick another --instance")
    ari_port = free_port(range(8100, 8200), tcp=True)
    sip_port = free_port(range(5100, 5200, 2), block=2)
    sandbox = Sandbox.for_instance(
        name, ari_port=ari_port, sip_port=sip_port, trunk_port=sip_port + 1
    )
    sandbox.start()
    return sandbox


class LogCount(logging.Handler):
    """Counts the app's warnings and errors (the messages themselves go to app.log)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] = self.counts.get(record.levelname, 0) + 1


def main(argv: list[str]) -> int:
    args = parse(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pbx-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # the app's complaints under overload would drown the report: to a file, counted
    log_file = logging.FileHandler(workdir / "app.log")
    log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log_count = LogCount()
    logging.basicConfig(level=logging.WARNING, handlers=[log_file, log_count])
    if args.capacity:
        return capacity(args, workdir)
    calls = round(args.rate * args.duration)
    load = Load(rate=args.rate, calls=calls, talk_ms=args.talk_ms, ring_ms=args.ring_ms,
                warmup=args.warmup)
    name = args.instance or f"bench-{os.getpid()}"
    say(f"{calls} calls at {args.rate:g}/s per flow, {args.agents} agents, talk {args.talk_ms} "
        f"ms, ring {args.ring_ms} ms; load average {load_average():.2f} on {os.cpu_count()} "
        f"cores; workdir {workdir}")
    postgres: Any = None
    sandbox: Sandbox | None = None
    rounds: list[list[PhaseResult]] = []
    try:
        if args.db == "postgres":
            import pg  # tests/pg.py: a throwaway server

            postgres = pg.start()
        sandbox = start_sandbox(name)
        say(f"sandbox {sandbox.name}: ARI {sandbox.ari_url}, SIP {sandbox.sip_target}")
        flows = ["app_queue", "ours"] if args.order == "app_queue-first" else ["ours", "app_queue"]
        if args.only:
            flows = [args.only]
        elif args.floor:
            flows.append("floor")
        for number in range(1, args.rounds + 1):
            # Round 1 in the top folder, as a single run; each later one in a folder of its
            # own, with a database of its own (ours adds its agents to it).
            folder = workdir if number == 1 else workdir / f"round-{number}"
            folder.mkdir(exist_ok=True)
            db_url = (postgres.create_database(f"pbx_bench_{number}") if postgres is not None
                      else fresh_sqlite(folder, "pbx.db"))
            order = flows if number % 2 else flows[::-1]
            if args.rounds > 1:
                say(f"round {number} of {args.rounds}: {', '.join(order)}")
            phases = [run_flow(flow, args, sandbox, load, folder, db_url) for flow in order]
            rounds.append(sorted(phases, key=lambda p: flows.index(p.name)))
    finally:
        if sandbox is not None:
            try:
                sandbox.stop() if args.keep_instance else sandbox.discard()
            except SandboxError as problem:
                say(f"could not stop the sandbox: {problem}")
        if postgres is not None:
            postgres.stop()
    phases = rounds[0] if rounds else []
    by_name = {p.name: p for p in phases}
    figs = {n: figures(p) for n, p in by_name.items()}
    ours, base = figs.get("ours"), figs.get("app_queue")
    out = [
        f"scripts/bench {' '.join(argv)}".rstrip(),
        f"{calls} calls per flow at {args.rate:g} calls/s, {args.agents} agents, talk "
        f"{args.talk_ms} ms, ring {args.ring_ms} ms, database {args.db}, "
        f"{os.cpu_count()} cores",
        "",
        table(ours, base),
        "",
        *verdict(ours, base),
        *(failures_text(f) for f in figs.values()),
        "",
        "bridged: " + "; ".join(f"{p.name} = {p.bridged_source}" for p in phases),
    ]
    if "ours" in by_name:
        extra = by_name["ours"].extra
        out.append(
            f"ours: {extra['ari_events']} ARI events ({extra['ari_events'] / max(1, calls):.1f} "
            f"per call), {extra['acd_decisions']} ACD decisions, outcomes {extra['outcomes']}, "
            f"handler errors {extra['handler_errors']}"
        )
        out.append(f"ours: app log {log_count.counts or 'clean'} ({workdir / 'app.log'})")
        collections = extra["gc"]
        out.append(f"ours: garbage collections in the window by generation "
                   f"{collections['passes'] or 'none'}, longest "
                   f"{collections['longest_ms']:.1f} ms, {collections['total_ms']:.0f} ms in all")
        ari = extra["ari_requests"]
        out.append(f"ours: ARI requests per call {sum(ari.values()) / max(1, calls):.1f}: "
                   + ", ".join(f"{k} {v / max(1, calls):.2f}" for k, v in ari.items()))
        sql = extra["sql_statements"]
        out.append(f"ours: SQL per call {sum(sql.values()) / max(1, calls):.1f}: " + ", ".join(
            f"{k} {v / max(1, calls):.1f}" for k, v in sql.items()))
        top = list(extra["events_by_type"].items())[:8]
        out.append("ours: events by type " + ", ".join(f"{k} {v}" for k, v in top))
        out += ["", breakdown(by_name["ours"])]
    if "floor" in by_name:
        out += ["", *floor_text(figs["floor"], by_name["floor"], ours, base)]
    if len(rounds) > 1:
        out += ["", rounds_text([{p.name: figures(p) for p in r} for r in rounds])]
    report = "\n".join(out)
    print(report)
    (workdir / "report.txt").write_text(report + "\n")
    meta = {"argv": argv, "calls": calls, "rate": args.rate, "agents": args.agents,
            "talk_ms": args.talk_ms, "ring_ms": args.ring_ms, "db": args.db,
            "cores": os.cpu_count()}
    write_results(workdir / "results.json", meta, list(figs.values()), phases)
    profile_raw = workdir / "ours.pyspy.txt"
    if args.profile and profile_raw.exists():
        summary = summarize_profile(profile_raw)
        (workdir / "ours.profile.txt").write_text(summary + "\n")
        print("\npy-spy profile of the app (top of " + str(workdir / "ours.profile.txt") + "):")
        print("\n".join(summary.splitlines()[:40]))
    elif args.profile:
        print(f"\npy-spy produced no profile: {by_name.get('ours') and by_name['ours'].extra}")
    counted = workdir / "ours.cprofile"
    if args.count_calls and counted.exists():
        print(f"\nours under cProfile (its CPU and latency figures above are slowed by it): "
              f"{summarize_calls(counted, calls)}")
    say(f"traces, results.json and report.txt in {workdir}")
    return 0


def run_flow(flow: str, args: argparse.Namespace, sandbox: Sandbox, load: Load, folder: Path,
             db_url: str) -> PhaseResult:
    """One flow's calls, its traces under `folder` / flow."""
    say(f"{flow}: running")
    (folder / flow).mkdir(exist_ok=True)
    if flow == "app_queue":
        done = run_app_queue(sandbox, load, args.agents, folder / "app_queue")
    elif flow == "floor":
        done = eventloop.run(run_floor(sandbox, load, args.agents, folder / "floor"), args.loop)
    else:
        profile = folder / "ours.pyspy.txt" if args.profile else None
        counted = folder / "ours.cprofile" if args.count_calls else None
        done = eventloop.run(run_ours(
            sandbox, load, args.agents, folder / "ours", db_url, queue_settings=OURS_QUEUE,
            profile=profile, count_calls=counted, bridge_events=args.bridge_events,
        ), args.loop)
    say(f"{flow}: done in {done.wall:.1f} s; callers sipp exit {done.callers.returncode} "
        f"({done.callers.successful}/{done.callers.created} ok)")
    time.sleep(2)  # let the machine settle between flows
    return done


def fresh_sqlite(workdir: Path, name: str) -> str:
    """The URL of an empty SQLite database `name` in `workdir`: a file a former run left there
    (its agents, its calls) is removed first."""
    for stale in workdir.glob(f"{name}*"):  # with its -wal and -shm
        stale.unlink()
    return f"sqlite+aiosqlite:///{workdir}/{name}"


def capacity(args: argparse.Namespace, workdir: Path) -> int:
    """--capacity: the ladder of rates (benchlib/capacity.py), its table and each flow's best."""
    flows: tuple[str, ...] = (args.only,) if args.only else ("app_queue", "ours")
    if args.order == "ours-first" and not args.only:
        flows = ("ours", "app_queue")
    say(f"capacity: both flows step by step up to {args.top:g} calls/s, {args.step_seconds:g} s "
        f"per step; load average {load_average():.2f} on {os.cpu_count()} cores; workdir "
        f"{workdir}")
    postgres: Any = None
    try:
        if args.db == "postgres":
            import pg  # tests/pg.py: a throwaway server

            postgres = pg.start()

        def db_url(step: int) -> str:
            if postgres is not None:
                return str(postgres.create_database(f"pbx_bench_{step}"))
            return fresh_sqlite(workdir, f"pbx-{step}.db")

        steps = run_capacity(
            start_sandbox=start_sandbox, name=args.instance or f"bench-{os.getpid()}",
            seconds=args.step_seconds, asked_agents=args.agents, talk_ms=args.talk_ms,
            ring_ms=args.ring_ms, warmup=args.warmup, db_url=db_url,
            queue_settings=OURS_QUEUE, workdir=workdir, say=say, top=args.top, flows=flows,
            ladder=args.ladder, loop=args.loop)
    finally:
        if postgres is not None:
            postgres.stop()
    report = "\n".join([
        f"scripts/bench {' '.join(sys.argv[1:])}".rstrip(),
        f"talk {args.talk_ms} ms, ring {args.ring_ms} ms, database {args.db}, "
        f"{os.cpu_count()} cores",
        "",
        capacity_report(steps, flows),
    ])
    print(report)
    (workdir / "capacity.txt").write_text(report + "\n")
    say(f"traces and capacity.txt in {workdir}")
    return 0
