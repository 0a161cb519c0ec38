"""`scripts/bench-dialer --live`: one short run of the real dialler at a small scale, on a
private sandbox: the app (tests/integration/callcenter.py), sipp desk phones as agents (each
talks `talk_s`), and the customers' sipp UAS on the trunk (a person says "hello", a machine
plays a long greeting, busy, no answer: by each lead's number). The same leads are dialled
progressive, then predictive; prints what each did beside the other."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter import CallCenter, call_center
from polling import eventually
from sandbox import Sandbox, SippAgent, customer_scenario, free_media_port

from pbx_stasis.acd.model import AgentState
from pbx_stasis.campaigns.core import CampaignSettings, Mode
from pbx_stasis.campaigns.service import Campaigns
from pbx_stasis.leads.service import LeadLists
from pbx_stasis.store import Directory
from pbx_stasis.testcall.greetings import MACHINE_LINES, spoken

# Customer endings (scripts/sipp/customer.xml) and their shares of the list.
MIX = (("01", 0.55), ("02", 0.15), ("03", 0.10), ("04", 0.20))


@dataclass
class LiveRun:
    mode: str
    seconds: float
    dialled: int
    connected: int
    abandoned: int
    machines: int
    occupancy: float  # agents' time on a campaign call (ringing, talking, wrap-up) / logged in

    def line(self) -> str:
        rate = self.abandoned / (self.connected + self.abandoned) if self.connected else 0.0
        return (f"{self.mode:<12} {self.seconds:>7.1f} {self.dialled:>7} {self.connected:>9} "
                f"{self.abandoned:>9} {rate:>8.1%} {self.machines:>8} {self.occupancy:>10.1%}")


def _numbers(count: int, block: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    endings = [e for e, _ in MIX]
    weights = [w for _, w in MIX]
    return [f"+1415{block:03d}{n:02d}{rng.choices(endings, weights)[0]}"
            for n in range(count)]


async def _run(center: CallCenter, mode: Mode, numbers: list[str], agents: int,
               target: float) -> LiveRun:
    tenant = await Directory(center.db).ensure_tenant("default")
    listed, _ = await LeadLists(center.db).import_csv(
        tenant.id, "phone\n" + "\n".join(numbers) + "\n", by="bench", region="US",
        name=f"live {mode.value}")
    store = Campaigns(center.db)
    campaign = await store.create(tenant.id, CampaignSettings(
        name=f"live {mode.value}", list_id=listed.id, queue=mode.value, mode=mode,
        abandon_target=target, learn_answers=5, ring_seconds=6, max_attempts=1), by="bench")
    await store.command(tenant.id, campaign.id, "start")
    started = time.monotonic()
    busy_s = 0.0
    last = started

    async def done() -> bool:
        nonlocal busy_s, last
        now = time.monotonic()
        core = center.app.acd.core
        busy = sum(1 for a in map(core.agent, core.agent_ids())
                   if a is not None and f"{tenant.id}:{mode.value}" in a.queues
                   and a.state in (AgentState.ON_CALL, AgentState.RINGING, AgentState.WRAP_UP))
        busy_s += busy * (now - last)
        last = now
        return (await store.leads_left(campaign) == 0
                and (await store.figures(tenant.id, campaign.id)).dialling == 0)

    await eventually(done, until=bool, within=600, every=0.25, what="the list dialled")
    seconds = time.monotonic() - started
    await store.command(tenant.id, campaign.id, "stop")
    figures = await store.figures(tenant.id, campaign.id)
    return LiveRun(mode.value, seconds, figures.dialled, figures.connected, figures.abandoned,
                   figures.machines, busy_s / (agents * seconds))


async def live(*, agents: int = 3, leads: int = 30, talk_s: float = 4.0,
               target: float = 0.05) -> list[LiveRun]:
    workdir = Path(tempfile.mkdtemp(prefix="pbx-bench-dialer-"))
    sandbox = Sandbox.private()
    sandbox.require_installed()
    sandbox.start()
    customers: SippAgent | None = None
    try:
        scenario = customer_scenario(workdir / "customers", person=spoken("Hello?", tail=8.0),
                                     machine=spoken(MACHINE_LINES[0], tail=2.0))
        customers = SippAgent(scenario, sip_port=sandbox.trunk_port,
                              media_port=free_media_port(), keys={"ring_ms": "1500"},
                              workdir=workdir, lifetime=900)
        queues = {m.value: {"wrapup": 1} for m in (Mode.PROGRESSIVE, Mode.PREDICTIVE)}
        runs: list[LiveRun] = []
        async with call_center(sandbox, workdir, queues) as center:
            for block, mode in enumerate((Mode.PROGRESSIVE, Mode.PREDICTIVE)):
                for i in range(agents):
                    await center.add_agent(f"{mode.value[:4]}{i}", 60 + block * 10 + i,
                                           queues={mode.value: 0},
                                           scenario="agent-answer-hangs-up.xml",
                                           keys={"ring_ms": "200",
                                                 "talk_ms": str(int(talk_s * 1000))})
                runs.append(await _run(center, mode, _numbers(leads, 555, seed=7), agents,
                                       target))
        return runs
    finally:
        if customers is not None:
            await asyncio.to_thread(customers.stop)
        sandbox.discard()


def print_live(runs: list[LiveRun], *, agents: int, leads: int) -> None:
    drawn = [number[-2:] for number in _numbers(leads, 555, seed=7)]
    kinds = ", ".join(f"{drawn.count(end)} {name}" for end, name in (
        ("01", "person"), ("02", "machine"), ("03", "busy"), ("04", "no answer")))
    print(f"\nlive, on a private sandbox: {leads} leads ({kinds}; drawn from 55/15/10/20%), "
          f"{agents} sipp agents each (talk 4 s, wrap-up 1 s)")
    print(f"{'mode':<12} {'seconds':>7} {'dialled':>7} {'connected':>9} {'abandoned':>9} "
          f"{'abandon':>8} {'machines':>8} {'occupancy':>10}")
    for run in runs:
        print(run.line())
