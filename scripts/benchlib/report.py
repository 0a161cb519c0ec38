"""Figures of a phase, the side-by-side table, the verdict against the issue's target, and a
summary of the py-spy profile."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.phases import PhaseResult
from benchlib.traces import PairedCall, percentile

P99_RATIO_TARGET = 1.5
LATENCIES: list[tuple[str, str]] = [
    ("answer", "caller INVITE -> 200 OK to the caller"),
    ("agent_invite", "caller INVITE -> agent INVITE"),
    ("agent_answer", "caller INVITE -> agent 200 OK"),
    ("bridged", "caller INVITE -> bridged"),
]


@dataclass(frozen=True)
class Figures:
    name: str
    offered: int
    reached_agent: int
    answered: int
    completed: int
    failed: int
    failures: dict[str, int]
    latencies: dict[str, list[float]]  # milliseconds
    asterisk_cpu: float
    asterisk_system_cpu: float
    python_cpu: float
    python_system_cpu: float
    sipp_cpu: float
    rest_cpu: float
    machine_busy: float
    wall: float
    load_average: tuple[float, float]
    offers_per_call: float

    def per_call_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.offered if self.offered else float("nan")

    def cpu_per_call_ms(self) -> float:
        """Asterisk + Python CPU a call: what item 1 compares to app_queue's."""
        return self.per_call_ms(self.asterisk_cpu + self.python_cpu)

    def pct(self, key: str, q: float) -> float | None:
        return percentile(self.latencies[key], q)


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else 1000 * (end - start)


def figures(phase: PhaseResult) -> Figures:
    calls = phase.calls
    latencies: dict[str, list[float]] = {key: [] for key, _ in LATENCIES}

    def add(key: str, value: float | None) -> None:
        if value is not None:
            latencies[key].append(value)

    for c in calls:
        invite = c.caller.invite
        connected = c.connected
        add("answer", _ms(invite, c.caller.answered))
        add("agent_invite", _ms(invite, c.first_offer))
        add("agent_answer", _ms(invite, connected.answered if connected else None))
        if phase.name == "app_queue":
            add("bridged", _ms(invite, connected.answered if connected else None))
        else:
            add("bridged", _ms(invite, c.bridged))
    failures = Counter(f for c in calls if (f := c.failure()) is not None)
    completed = sum(1 for c in calls if c.completed)
    offers = sum(len(c.agents) for c in calls)
    return Figures(
        name=phase.name,
        offered=len(calls),
        reached_agent=sum(1 for c in calls if c.agents),
        answered=sum(1 for c in calls if c.connected is not None),
        completed=completed,
        failed=len(calls) - completed,
        failures=dict(failures),
        latencies=latencies,
        asterisk_cpu=phase.cpu.asterisk,
        asterisk_system_cpu=phase.cpu.asterisk_system,
        python_cpu=phase.cpu.python,
        python_system_cpu=phase.cpu.python_system,
        sipp_cpu=phase.cpu.callers + phase.cpu.phones,
        rest_cpu=phase.cpu.rest,
        machine_busy=phase.cpu.machine_busy,
        wall=phase.wall,
        load_average=phase.load_average,
        offers_per_call=offers / len(calls) if calls else 0.0,
    )


def _fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _ratio(ours: float | int | None, theirs: float | int | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}"


def table(ours: Figures | None, base: Figures | None) -> str:
    """The side-by-side table (plain text, also valid Markdown)."""
    rows: list[tuple[str, Any, Any, bool, int]] = []  # label, ours, app_queue, ratio?, digits

    def row(label: str, get: Callable[[Figures], float | int | None], ratio: bool = True,
            digits: int | None = None) -> None:
        shown = digits if digits is not None else 2 if "CPU" in label else 1
        rows.append(
            (label, get(ours) if ours else None, get(base) if base else None, ratio, shown)
        )

    row("calls offered", lambda f: f.offered, False)
    row("reached an agent", lambda f: f.reached_agent, False)
    row("answered by an agent", lambda f: f.answered, False)
    row("completed (talked, caller hung up)", lambda f: f.completed, False)
    row("failed", lambda f: f.failed, False)
    row("agent INVITEs per call", lambda f: round(f.offers_per_call, 3), False)
    for key, label in LATENCIES:
        for q in (50, 95, 99):
            row(f"{label} p{q} (ms)", lambda f, k=key, q=q: f.pct(k, q))  # type: ignore[misc]
    row("Asterisk CPU (s)", lambda f: f.asterisk_cpu)
    row("Asterisk CPU per call (ms)", lambda f: f.per_call_ms(f.asterisk_cpu))
    row("  of it in the kernel (ms)",
        lambda f: f.per_call_ms(f.asterisk_system_cpu))
    row("Python CPU (s)", lambda f: f.python_cpu, False)
    row("Python CPU per call (ms)", lambda f: f.per_call_ms(f.python_cpu), False)
    row("  of it in the kernel (ms)", lambda f: f.per_call_ms(f.python_system_cpu), False)
    # Asterisk's work per call is the same for most changes to the app, and the host's speed
    # moves both alike: this ratio compares runs far better than Python's ms (session 18).
    row("Python CPU / Asterisk CPU", lambda f: f.python_cpu / f.asterisk_cpu
        if f.asterisk_cpu > 0 else None, False, digits=3)
    row("Asterisk + Python CPU per call (ms)",
        lambda f: f.cpu_per_call_ms())
    row("sipp CPU (s)", lambda f: f.sipp_cpu, False)
    row("rest of the machine CPU (s)", lambda f: f.rest_cpu, False)
    row("window (s)", lambda f: f.wall, False)
    row("load average before", lambda f: f.load_average[0], False)
    row("load average after", lambda f: f.load_average[1], False)

    header = ("", "ours (Python ACD)", "app_queue", "ours/app_queue")
    body = [
        (label, _fmt(a, digits), _fmt(b, digits), _ratio(a, b) if ratio else "")
        for label, a, b, ratio, digits in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    lines = [
        "| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(header)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for r in body:
        lines.append(
            "| " + r[0].ljust(widths[0]) + " | "
            + " | ".join(r[i].rjust(widths[i]) for i in (1, 2, 3)) + " |"
        )
    return "\n".join(lines)


def verdict(ours: Figures | None, base: Figures | None) -> list[str]:
    """The issue's target: 0 failed calls, p99 caller INVITE -> agent INVITE within 1.5x."""
    if ours is None or base is None:
        return ["(one flow only: no comparison)"]
    lines = [
        f"failed calls: ours {ours.failed}, app_queue {base.failed} "
        f"-> {'OK' if ours.failed == 0 else 'MISSED'}"
    ]
    ratio = p99_ratio(ours, base)
    if ratio is not None:
        ours_p99, base_p99 = ours.pct("agent_invite", 99), base.pct("agent_invite", 99)
        lines.append(
            f"p99 caller INVITE -> agent INVITE: ours {ours_p99:.1f} ms, app_queue "
            f"{base_p99:.1f} ms, ratio {ratio:.2f} (target <= {P99_RATIO_TARGET}) -> "
            f"{'OK' if ratio <= P99_RATIO_TARGET else 'MISSED'}"
        )
    else:
        lines.append("p99 caller INVITE -> agent INVITE: not measurable (no agent INVITEs)")
    return lines


def p99_ratio(ours: Figures, base: Figures) -> float | None:
    """p99 caller INVITE -> agent INVITE, ours over app_queue's (the issue's latency target)."""
    mine, theirs = ours.pct("agent_invite", 99), base.pct("agent_invite", 99)
    return mine / theirs if mine is not None and theirs else None


def rounds_text(rounds: Sequence[dict[str, Figures]]) -> str:
    """--rounds: each round's CPU a call (Asterisk + Python, ms) and ratios to app_queue's, then
    each ratio's median and range: the ratio within a round is what survives the host's drift."""
    names = [n for n in ("app_queue", "ours", "floor") if n in rounds[0]]
    ratios: dict[str, list[float]] = {}
    lines = ["| round | " + " | ".join(f"{n} CPU a call (ms)" for n in names)
             + " | ours Python (ms) | ours / app_queue | floor / app_queue"
             + " | p99 agent INVITE ours / app_queue | failed |",
             "|---:|" + "---:|" * (len(names) + 5)]
    for number, r in enumerate(rounds, 1):
        base, ours, floor = r["app_queue"], r["ours"], r.get("floor")
        row = {"ours / app_queue": ours.cpu_per_call_ms() / base.cpu_per_call_ms(),
               "ours Python a call (ms)": ours.per_call_ms(ours.python_cpu)}
        if floor is not None:
            row["floor / app_queue"] = floor.cpu_per_call_ms() / base.cpu_per_call_ms()
        if (p99 := p99_ratio(ours, base)) is not None:
            row["p99 ours / app_queue"] = p99
        for key, value in row.items():
            ratios.setdefault(key, []).append(value)
        lines.append(
            f"| {number} | " + " | ".join(f"{r[n].cpu_per_call_ms():.2f}" for n in names)
            + f" | {row['ours Python a call (ms)']:.2f} | {row['ours / app_queue']:.2f}"
            + f" | {_fmt(row.get('floor / app_queue'), 2)}"
            + f" | {_fmt(row.get('p99 ours / app_queue'), 2)}"
            + f" | {'/'.join(str(r[n].failed) for n in names)} |")
    lines += ["", f"over {len(rounds)} rounds, median (lowest-highest): " + "; ".join(
        f"{key} {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"
        for key, values in ratios.items())]
    return "\n".join(lines)


# ours: where the time between the caller's INVITE and the agent's goes (ARI timestamps have
# millisecond resolution)
SEGMENTS: list[tuple[str, Callable[[PairedCall], tuple[float | None, float | None]]]] = [
    ("caller INVITE -> StasisStart (Asterisk)",
     lambda c: (c.caller.invite, c.steps.get("stasis_start (Asterisk)"))),
    ("StasisStart: Asterisk -> app has it",
     lambda c: (c.steps.get("stasis_start (Asterisk)"), c.steps.get("stasis_start (app)"))),
    ("app has StasisStart -> CALLSTART (call task runs)",
     lambda c: (c.steps.get("stasis_start (app)"), c.steps.get("journal CALLSTART"))),
    ("CALLSTART -> ENTERQUEUE (enqueue until the owner applied CallArrived)",
     lambda c: (c.steps.get("journal CALLSTART"), c.steps.get("journal ENTERQUEUE"))),
    ("ENTERQUEUE -> OFFER (the core picks an agent)",
     lambda c: (c.steps.get("journal ENTERQUEUE"), c.steps.get("journal OFFER"))),
    ("OFFER -> agent INVITE (originate, Asterisk dials)",
     lambda c: (c.steps.get("journal OFFER"), c.first_offer)),
    ("agent 200 OK -> bridged (Asterisk)",
     lambda c: (c.connected.answered if c.connected else None, c.bridged)),
    ("bridged: Asterisk -> app has it",
     lambda c: (c.bridged, c.steps.get("bridged (app)"))),
    # Beside the path to the agent: the queue answers the caller in the call's lane meanwhile.
    ("(beside) CALLSTART -> ANSWER (the queue answers the caller)",
     lambda c: (c.steps.get("journal CALLSTART"), c.steps.get("journal ANSWER"))),
]
# Journal times come from the app's clock (time.time()), ARI times from Asterisk's (millisecond
# resolution), sipp's from its own gettimeofday: one machine, one clock, +-1 ms.


def breakdown(phase: PhaseResult) -> str:
    """p50/p95/p99 of each step of ours, as a small table; the last column is the step's mean
    over the slowest 1% of calls (caller INVITE -> agent INVITE at or above its p99): where
    the tail's time goes."""
    totals = [v for c in phase.calls if (v := _ms(c.caller.invite, c.first_offer)) is not None]
    p99 = percentile(totals, 99)
    tail = [c for c in phase.calls
            if p99 is not None and (v := _ms(c.caller.invite, c.first_offer)) is not None
            and v >= p99]
    lines = ["| ours: step | p50 (ms) | p95 (ms) | p99 (ms) | calls | slowest 1%: mean (ms) |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, get in SEGMENTS:
        values = [v for c in phase.calls if (v := _ms(*get(c))) is not None]
        cells = [_fmt(percentile(values, q)) for q in (50, 95, 99)]
        slow = [v for c in tail if (v := _ms(*get(c))) is not None]
        mean = _fmt(sum(slow) / len(slow)) if slow else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {len(values)} | {mean} |")
    return "\n".join(lines)


def failures_text(fig: Figures) -> str:
    if not fig.failures:
        return f"{fig.name}: no failed call"
    return f"{fig.name}: " + ", ".join(f"{n} {why}" for why, n in fig.failures.items())


def to_json(fig: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: v for k, v in fig.__dict__.items() if k not in ("latencies",)
    }
    out["percentiles_ms"] = {
        key: {f"p{q}": fig.pct(key, q) for q in (50, 95, 99, 100)} for key, _ in LATENCIES
    }
    return out


def write_results(path: Path, meta: dict[str, Any], figs: Sequence[Figures],
                  phases: Sequence[PhaseResult]) -> None:
    data = {
        "meta": meta,
        "figures": [to_json(f) for f in figs],
        "extra": {p.name: p.extra for p in phases},
        "sipp": {
            p.name: {
                "callers": {"exit": p.callers.returncode, "created": p.callers.created,
                            "successful": p.callers.successful, "failed": p.callers.failed},
                "phones": {"exit": p.phones.returncode, "created": p.phones.created,
                           "successful": p.phones.successful, "failed": p.phones.failed},
            }
            for p in phases
        },
    }
    path.write_text(json.dumps(data, indent=2, default=str))


_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    # checked in order against the whole stack: the first match names the sample
    ("database (SQLAlchemy, driver, greenlet hops)",
     ("sqlalchemy", "aiosqlite", "asyncpg", "greenlet", "sqlite3")),
    ("ARI events (websocket read, JSON decode, routing)",
     ("EventStream", "client_ws", "json/decoder", "CallRouter.on_event")),
    ("ARI requests (aiohttp client)", ("AriClient", "aiohttp/client")),
    ("bench harness (sipp waits, event tap)", ("EventTap", "run_sipp", "wait_no_channels")),
]


def _category(stack: str, leaf: str) -> str:
    for name, needles in _CATEGORIES:
        if any(n in stack for n in needles):
            return name
    if any(n in leaf for n in ("selectors.py", "base_events.py", "asyncio/events.py")):
        return "asyncio loop itself"
    return "other Python (the ACD core, call actors, bus...)"


def summarize_profile(raw: Path, top: int = 20) -> str:
    """py-spy's raw (collapsed stacks) output -> where the GIL time goes: by kind of work, by
    project function (inclusive) and by function (self)."""
    own: Counter[str] = Counter()
    project: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")
                  if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        kinds[_category(stack, frames[-1])] += count
        for frame in {f for f in frames if f.split(" (", 1)[-1].startswith("pbx_stasis/")}:
            project[frame] += count
    if not total:
        return "py-spy recorded no samples"
    out = [f"{total} samples of the thread holding the GIL (200 Hz)", "", "by kind of work:"]
    out += [f"  {100 * n / total:5.1f}%  {k}" for k, n in kinds.most_common()]
    out += ["", "project functions, inclusive (greenlet-run SQL is not under its caller):"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in project.most_common(top)]
    out += ["", "self time (the function itself was running):"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(out)


def summarize_calls(stats: Path, calls: int, top: int = 15) -> str:
    """cProfile's counts of ours' measured window -> function calls a queued call, in all and
    by where the function lives (the app's package, or the library). Counts, not times: a
    count does not move with the host's speed (cProfile's own cost slows every call)."""
    import pstats

    counts = pstats.Stats(str(stats)).stats  # type: ignore[attr-defined]
    every, python = 0, 0
    where: Counter[str] = Counter()
    for (path, _line, _name), (_, called, *_rest) in counts.items():
        every += called
        if path == "~":  # a builtin (len, dict.get...): cheap beside a Python function
            continue
        python += called
        where[_area(path)] += called
    per = max(1, calls)
    out = [f"{every / per:.0f} function calls a call, {python / per:.0f} of them Python "
           f"functions (the rest builtins); Python functions by where they live:"]
    out += [f"  {n / per:7.1f}  {area}" for area, n in where.most_common(top)]
    return "\n".join(out)


def _area(path: str) -> str:
    # ".../pbx_stasis/acd/core.py" -> "pbx_stasis/acd"; ".../site-packages/aiohttp/x.py" ->
    # "aiohttp"; ".../lib/python3.11/asyncio/queues.py" -> "asyncio"
    if "/benchlib/" in path:
        return "benchlib (the bench's own event tap)"
    if "/pbx_stasis/" in path:
        return "pbx_stasis/" + path.split("/pbx_stasis/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                rest = rest.split("/", 1)[-1]
            return rest.split("/", 1)[0].removesuffix(".py")
    return path.rsplit("/", 1)[-1]


def _frame(frame: str) -> str:
    # "handle (pbx_stasis/ari/events.py:361)" -> "handle (pbx_stasis/ari/events.py)"
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in path:
            path = "…" + marker + path.split(marker, 1)[1]
    if "/pbx_stasis/" in path:
        path = "pbx_stasis/" + path.split("/pbx_stasis/", 1)[1]
    return f"{name} ({path})"
