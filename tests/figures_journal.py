"""Two days of a small contact center, written by the real ACD core: the one journal that the
wallboard's live fold and the reports must read alike (tests/unit/acd/test_acd_figures_agree.py
and tests/integration/test_reports_store.py).

The runner's part is played by hand: a blind transfer to an agent goes through that agent's
personal queue, as AcdService.transfer does it. Times are seconds after DAY1 (midnight UTC).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbx_stasis.acd import (
    Acd,
    AcdInput,
    Action,
    AgentConfig,
    AgentHungUp,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentRegistered,
    AgentUnpause,
    CallArrived,
    CallerHungUp,
    CancelOffer,
    Connect,
    JournalRow,
    Offer,
    OfferAnswered,
    QueueConfig,
    QueueConfigChanged,
    Strategy,
    Tick,
    TransferToQueue,
)
from pbx_stasis.acd.model import ServiceLevelMode, personal_queue

DAY1 = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
DAY2 = DAY1 + 86400
DAY3 = DAY2 + 86400
HOUR = 3600.0
SALES = QueueConfig("sales", strategy=Strategy.LINEAR, agent_order=("alice", "dave"),
                    ring_timeout=60, wrapup=10, service_level=20, short_abandon=5)
SUPPORT = QueueConfig("support", ring_timeout=60, service_level=20, max_wait=60,
                      service_level_mode=ServiceLevelMode.ANSWERED_AND_ABANDONED)
QUEUES = (SALES, SUPPORT)
AGENTS = ("alice", "bob", "carol", "dave")
USER_IDS = {agent: n for n, agent in enumerate(AGENTS, start=11)}  # as the database knows them


@dataclass(frozen=True)
class StoredRow:
    """A journal line as reports/store.py reads it (tenant and agent as the database has them)."""

    at: datetime
    event: str
    call_id: str | None
    queue: str | None
    agent_user_id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)


def stored(row: JournalRow, user_ids: Mapping[str, int] = USER_IDS) -> StoredRow:
    return StoredRow(datetime.fromtimestamp(row.at, UTC), str(row.event), row.call_id, row.queue,
                     None if row.agent_id is None else user_ids[row.agent_id], dict(row.data))


class Floor:
    """Feeds the core at given times and keeps every action, as the runner would."""

    def __init__(self) -> None:
        self.acd = Acd(QUEUES, [AgentConfig(a, f"PJSIP/{a}") for a in AGENTS],
                       rng=random.Random(0), start=DAY1)
        self.now = DAY1
        self.actions: list[tuple[float, Action]] = []
        self.ringing: dict[tuple[str, str], Offer] = {}

    def at(self, seconds: float, *events: AcdInput) -> None:
        self.now = max(self.now, DAY1 + seconds)
        for event in events or (Tick(),):
            # Deadlines due before this moment fire first (wrap-ups ending, max waits).
            while (due := self.acd.next_deadline()) is not None and due < self.now:
                self._feed(Tick(), due)
            self._feed(event, self.now)

    def _feed(self, event: AcdInput, when: float) -> None:
        for action in self.acd.feed(event, when):
            self.actions.append((when, action))
            if isinstance(action, Offer):
                self.ringing[(action.call_id, action.agent_id)] = action
            elif isinstance(action, CancelOffer | Connect):
                self.ringing.pop((action.call_id, action.agent_id), None)

    def answer(self, seconds: float, call_id: str, agent: str) -> None:
        offer = self.ringing[(call_id, agent)]
        self.at(seconds, OfferAnswered(offer.offer_id, call_id, agent))

    def to_agent(self, seconds: float, call_id: str, agent: str) -> None:
        """A blind transfer to a named agent: into their personal queue (AcdService)."""
        queue = personal_queue(agent)
        self.at(seconds, QueueConfigChanged(QueueConfig(queue, max_wait=60.0,
                                                        autopause_after=None)),
                AgentLogin(agent, [queue]), TransferToQueue(call_id, queue))

    def journal(self) -> list[JournalRow]:
        return [a for _, a in self.actions if isinstance(a, JournalRow)]


def two_days() -> Floor:
    f = Floor()
    m = 60.0
    h = HOUR
    for agent in AGENTS:
        f.at(8 * h, AgentRegistered(agent))
    f.at(8 * h, AgentLogin("alice", ["sales"]), AgentLogin("dave", ["sales"]),
         AgentLogin("carol", ["support"]))
    f.at(8 * h + 1, AgentPause("dave", "training"))
    # c1: alice answers in 10 s, talks 60 s and hands the caller to bob, who talks 120 s.
    f.at(9 * h, CallArrived("c1", "sales", caller="+33100000001"))
    f.answer(9 * h + 10, "c1", "alice")
    f.to_agent(9 * h + 70, "c1", "bob")
    f.answer(9 * h + 74, "c1", "bob")
    f.at(9 * h + 194, CallerHungUp("c1"))
    # c2: alice answers after 30 s, moves the call to support, where carol takes it.
    f.at(9 * h + 10 * m, CallArrived("c2", "sales"))
    f.answer(9 * h + 10 * m + 30, "c2", "alice")
    f.at(9 * h + 10 * m + 75, TransferToQueue("c2", "support"))
    f.answer(9 * h + 10 * m + 80, "c2", "carol")
    f.at(9 * h + 10 * m + 110, AgentHungUp("c2", "carol"))
    # c3 hangs up after 3 s (a short abandon), c4 after 40 s while alice is on a break.
    f.at(9 * h + 20 * m, CallArrived("c3", "sales"))
    f.at(9 * h + 20 * m + 3, CallerHungUp("c3"))
    f.at(9 * h + 29 * m, AgentPause("alice", "coffee"))
    f.at(9 * h + 30 * m, CallArrived("c4", "sales"))
    f.at(9 * h + 30 * m + 40, CallerHungUp("c4"))
    f.at(9 * h + 35 * m, AgentUnpause("alice"))
    # c5: carol answers after 25 s; c6 waits in support with carol away: timed out after 60 s.
    f.at(9 * h + 40 * m, CallArrived("c5", "support"))
    f.answer(9 * h + 40 * m + 25, "c5", "carol")
    f.at(9 * h + 41 * m + 15, CallerHungUp("c5"))
    f.at(9 * h + 45 * m, AgentLogout("carol"))
    f.at(9 * h + 50 * m, CallArrived("c6", "support"))
    f.at(9 * h + 52 * m)
    f.at(10 * h, AgentLogin("carol", ["support"]))
    f.at(12 * h, AgentUnpause("dave"))
    # c7 arrives 10 s before midnight and is answered 15 s after it.
    f.at(24 * h - 10, CallArrived("c7", "sales"))
    f.answer(24 * h + 15, "c7", "alice")
    f.at(24 * h + 115, AgentHungUp("c7", "alice"))
    # Day two: dave answers c8 at once; alice leaves; c9 hangs up after 8 s (not short).
    f.at(24 * h + 9 * h, AgentPause("alice", "meeting"))
    f.at(24 * h + 9 * h + 1, CallArrived("c8", "sales"))
    f.answer(24 * h + 9 * h + 3, "c8", "dave")
    f.at(24 * h + 9 * h + 33, CallerHungUp("c8"))
    f.at(24 * h + 10 * h, AgentLogout("alice"))
    f.at(24 * h + 11 * h, AgentPause("dave", "lunch"))
    f.at(24 * h + 11 * h + 1, CallArrived("c9", "sales"))
    f.at(24 * h + 11 * h + 9, CallerHungUp("c9"))
    f.at(24 * h + 12 * h, AgentUnpause("dave"))
    f.at(24 * h + 17 * h, AgentLogout("dave"), AgentLogout("carol"))
    return f
