"""scripts/bench --capacity: the highest rate each flow sustains, both flows in the same run.

A ladder of rates; at each step a fresh sandbox instance carries app_queue then ours (the same
callers, agents and window as the main bench, shorter). A flow passes a step when no call failed
and its p99 caller INVITE -> agent INVITE stays within the bar (50 ms); it leaves the ladder at
its first miss confirmed by a second try at the same rate (the machine is shared: one slow
burst of other work must not end a flow's climb), and the other goes on. Bounded: the ladder's
rates, seconds per step and calls per step are capped whatever the arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sandbox import Sandbox, SandboxError

from benchlib.load import Load
from benchlib.phases import PhaseResult, run_app_queue, run_ours
from benchlib.report import Figures, figures
from pbx_stasis.cli import eventloop

P99_BAR_MS = 50.0  # the bar: p99 caller INVITE -> agent INVITE
LADDER = (25.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0)
MAX_STEP_CALLS = 6_000
HOLD_S = 0.6  # an agent is busy ~ring + talk per call: the agents a rate needs, with room


@dataclass(frozen=True)
class Step:
    rate: float
    flow: str
    failed: int
    offered: int
    p50: float | None
    p99: float | None
    python_ms: float  # per call
    asterisk_ms: float  # per call
    rest_cpu: float  # seconds of CPU the rest of the machine took in the window
    attempt: int = 1

    @property
    def passed(self) -> bool:
        return self.offered > 0 and self.failed == 0 and self.p99 is not None \
            and self.p99 <= P99_BAR_MS


def agents_for(rate: float, asked: int) -> int:
    """Enough agents that the step measures the ACD, not callers queueing for a free agent."""
    return max(asked, round(rate * HOLD_S * 2))


def _step(fig: Figures, rate: float) -> Step:
    return Step(rate=rate, flow=fig.name, failed=fig.failed, offered=fig.offered,
                p50=fig.pct("agent_invite", 50), p99=fig.pct("agent_invite", 99),
                python_ms=fig.per_call_ms(fig.python_cpu),
                asterisk_ms=fig.per_call_ms(fig.asterisk_cpu), rest_cpu=fig.rest_cpu)


def run_capacity(
    *,
    start_sandbox: Callable[[str], Sandbox],
    name: str,
    seconds: float,
    asked_agents: int,
    talk_ms: int,
    ring_ms: int,
    warmup: int,
    db_url: Callable[[int], str],
    queue_settings: Mapping[str, Any],
    workdir: Path,
    say: Callable[[str], None],
    top: float,
    flows: tuple[str, ...] = ("app_queue", "ours"),
    ladder: Sequence[float] = LADDER,
    loop: str | None = None,
) -> list[Step]:
    """Climb the ladder up to `top` calls/s; each flow stops at its first miss."""
    steps: list[Step] = []
    climbing = list(flows)
    for index, rate in enumerate(r for r in ladder if r <= top):
        if not climbing:
            break
        calls = min(MAX_STEP_CALLS, round(rate * seconds))
        agents = agents_for(rate, asked_agents)
        load = Load(rate=rate, calls=calls, talk_ms=talk_ms, ring_ms=ring_ms, warmup=warmup)
        sandbox = start_sandbox(f"{name}-{index}")
        by_rate: dict[str, bool] = {}  # this rate's last try, by flow
        say(f"capacity: {rate:g} calls/s, {calls} calls, {agents} agents: {', '.join(climbing)}")
        try:
            for attempt, flow in [(a, f) for a in (1, 2) for f in list(climbing)]:
                if attempt == 2 and (flow not in climbing or by_rate.get(flow, True)):
                    continue  # the second try is for a flow that missed this rate only
                where = workdir / f"{rate:g}" / f"{flow}-{attempt}"
                where.mkdir(parents=True, exist_ok=True)
                phase: PhaseResult
                if flow == "app_queue":
                    phase = run_app_queue(sandbox, load, agents, where)
                else:
                    phase = eventloop.run(run_ours(
                        sandbox, load, agents, where, db_url(2 * index + attempt - 1),
                        queue_settings=queue_settings), loop)
                step = replace(_step(figures(phase), rate), attempt=attempt)
                steps.append(step)
                by_rate[flow] = step.passed
                say(f"capacity: {flow} at {rate:g}/s (try {attempt}): failed {step.failed}/"
                    f"{step.offered}, p99 {_ms(step.p99)}, rest of the machine "
                    f"{step.rest_cpu:.1f} CPU s -> {'pass' if step.passed else 'MISS'}")
                if not step.passed and attempt == 2:
                    climbing.remove(flow)
                time.sleep(2)  # let the machine settle between flows
        finally:
            try:
                sandbox.discard()
            except SandboxError as problem:
                say(f"could not remove the sandbox: {problem}")
    return steps


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def highest(steps: list[Step], flow: str) -> float | None:
    """The highest rate the flow passed (at the first or second try) with every rate below
    passed too."""
    best = None
    for rate in sorted({s.rate for s in steps if s.flow == flow}):
        if not any(s.passed for s in steps if s.flow == flow and s.rate == rate):
            break
        best = rate
    return best


def capacity_report(steps: list[Step], flows: tuple[str, ...]) -> str:
    rates = sorted({s.rate for s in steps})
    by: dict[tuple[str, float], list[Step]] = {}
    for step in steps:
        by.setdefault((step.flow, step.rate), []).append(step)
    lines = [
        f"capacity: a step passes with 0 failed calls and p99 caller INVITE -> agent INVITE "
        f"<= {P99_BAR_MS:g} ms; both flows on the same instance per step, in the same run",
        "",
        "| calls/s | " + " | ".join(
            f"{f}: failed / p50 / p99 (ms) / Python + Asterisk ms per call / rest of the "
            f"machine (CPU s)" for f in flows) + " |",
        "|---:|" + "---:|" * len(flows),
    ]
    for rate in rates:
        cells = []
        for flow in flows:
            tries = by.get((flow, rate), [])
            cells.append("; ".join(
                f"{s.failed} / {_ms(s.p50)} / {_ms(s.p99)} / {s.python_ms:.1f} + "
                f"{s.asterisk_ms:.1f} / {s.rest_cpu:.1f}{'' if s.passed else ' MISS'}"
                for s in tries) or "-")
        lines.append(f"| {rate:g} | " + " | ".join(cells) + " |")
    lines.append("")
    best = {flow: highest(steps, flow) for flow in flows}
    # A flow's ceiling lies between its best and the next rate it was tried at (and missed);
    # one that passed every rate it was tried at never found it: its figure is a floor.
    missed = {flow: min((s.rate for s in steps if s.flow == flow
                         and s.rate > (best[flow] or 0)), default=None) for flow in flows}
    topped = {flow: best[flow] is not None and missed[flow] is None for flow in flows}
    for flow in flows:
        value = best[flow]
        said = "none" if value is None else f"{value:g} calls/s"
        if topped[flow]:
            said += " (the top of the ladder: at least)"
        elif missed[flow] is not None:
            said += f" (below {missed[flow]:g})"
        lines.append(f"capacity {flow}: {said}")
    ours, theirs = best.get("ours"), best.get("app_queue")
    if ours is not None and theirs:
        ratio = f"{ours / theirs:.2f}"
        if topped["ours"] and topped["app_queue"]:
            ratio = f"unknown ({ratio} at the top of the ladder for both: climb higher)"
        elif topped["ours"]:
            ratio = f">= {ratio}"
        elif topped["app_queue"]:
            ratio = f"<= {ratio}"
        else:  # both ceilings known to a step: the ratio's range follows
            above_ours, above_theirs = missed["ours"], missed["app_queue"]
            assert above_ours is not None and above_theirs is not None
            ratio += (f", between {ours / above_theirs:.2f} and {above_ours / theirs:.2f} with "
                      "the ladder's steps")
        lines.append(f"ours / app_queue: {ratio} (goal >= 0.8)")
    return "\n".join(lines)
