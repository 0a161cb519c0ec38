"""The sipp side of a phase: one desk-phone process for all agents, and the callers."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox import SIPP_DIR, SippAgent, SippResult, free_media_port, run_sipp

from benchlib.system import free_port, write_rtp_burst

CALLER_SCENARIO = "bench-caller.xml"
AGENT_SCENARIO = "agent-answer.xml"
# Outside the tests' desk phones (20000+i), Asterisk's RTP range and the ephemeral range.
DESK_PHONES_SIP = range(30000, 31000)
CALLERS_SIP = range(31000, 32000)


@dataclass(frozen=True)
class Load:
    """How hard and how long a phase calls."""

    rate: float  # calls per second
    calls: int
    talk_ms: int  # the caller hangs up this long after Asterisk answered it
    ring_ms: int  # the desk phones ring this long before answering
    warmup: int  # calls before the measured ones (not counted)


def tokens(phase: int, count: int, *, warmup: bool = False) -> list[str]:
    """Per-call tokens (digits: ours uses them as the calling number): phase, kind, index."""
    return [f"{phase}{9 if warmup else 1}{n:06d}" for n in range(1, count + 1)]


class DeskPhones:
    """One sipp UAS answering for every agent: their contacts differ only in the user part.

    sipp tells calls apart by Call-ID, so a single process serves 50 agents as well as 50
    processes would, and Asterisk (or the ACD) still sees 50 distinct endpoints.
    """

    def __init__(self, workdir: Path, *, ring_ms: int, lifetime: float) -> None:
        self.sip_port = free_port(DESK_PHONES_SIP)
        self.trace = workdir / "agents.msg"
        self.agent = SippAgent(
            AGENT_SCENARIO,
            sip_port=self.sip_port,
            media_port=free_media_port(),
            keys={"ring_ms": str(ring_ms)},
            lifetime=lifetime,
            workdir=workdir,
            extra_args=["-trace_msg", "-message_file", str(self.trace)],
        )

    @property
    def pid(self) -> int:
        return self.agent.process.pid

    def contact(self, user: str) -> str:
        return f"sip:{user}@127.0.0.1:{self.sip_port}"

    def stop(self) -> SippResult:
        return self.agent.stop(grace=5.0)


@dataclass(frozen=True)
class CallerRun:
    result: SippResult
    trace: Path


def prepare_callers(workdir: Path) -> Path:
    """Copy the caller scenario next to its RTP burst (sipp looks for pcaps beside the scenario)."""
    scenario = workdir / CALLER_SCENARIO
    shutil.copyfile(SIPP_DIR / CALLER_SCENARIO, scenario)
    write_rtp_burst(workdir / "bench-caller-audio.pcap")
    return scenario


def call(
    workdir: Path,
    name: str,
    target: str,
    call_tokens: Sequence[str],
    *,
    rate: float,
    talk_ms: int,
    local_address: str = "127.0.0.1",
    service: str = "100",
) -> CallerRun:
    """Place len(call_tokens) calls at `rate` (blocking, bounded by sipp's -timeout).

    Each call's From display name and user are its token. `local_address` selects the endpoint
    Asterisk takes the calls for: 127.0.0.1 is the sandbox trunk, Sandbox.bench_caller the
    app_queue baseline.
    """
    scenario = workdir / CALLER_SCENARIO
    if not scenario.exists():
        prepare_callers(workdir)
    injection = workdir / f"{name}.csv"
    injection.write_text(
        "SEQUENTIAL\n" + "".join(f"{t};{t}\n" for t in call_tokens)
    )
    trace = workdir / f"{name}.msg"
    count = len(call_tokens)
    # sending takes count/rate; the last call then lives talk_ms plus whatever waiting it did
    timeout = count / rate + talk_ms / 1000 + 60
    result = run_sipp(
        scenario,
        target,
        calls=count,
        rate=rate,
        max_concurrent=max(50, int(rate * 30)),
        local_port=free_port(CALLERS_SIP),
        local_address=local_address,
        service=service,
        keys={"talk_ms": str(talk_ms)},
        extra_args=["-inf", str(injection), "-trace_msg", "-message_file", str(trace)],
        timeout=timeout,
        workdir=workdir,
    )
    return CallerRun(result, trace)
