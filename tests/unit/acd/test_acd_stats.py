"""The wallboard read model: a fold over the core's actions that agrees with the core."""

from __future__ import annotations

import random

from acd_driver import QUEUES, Driver, random_day
from acd_floor import Floor

from pbx_stasis.acd import (
    Action,
    AgentPause,
    AgentState,
    CallerHungUp,
    QueueConfig,
    Tick,
)
from pbx_stasis.acd.stats import Stats

THRESHOLD = 20.0


def test_a_queue_through_a_morning() -> None:
    floor = Floor([QueueConfig("q", service_level=THRESHOLD, wrapup=30)], ["a1", "a2", "a3"])
    stats = Stats.for_queues([floor.acd.queue("q")])  # type: ignore[list-item]
    floor.ready("a1", "q")
    floor.ready("a2", "q")
    floor.ready("a3", "q")
    floor.feed(AgentPause("a3", "training"))
    floor.arrive("quick", "q")  # offered to a1
    floor.advance(10)
    floor.answer("quick", "a1")  # answered in 10 s: within
    floor.arrive("slow", "q")  # offered to a2, who does not answer
    floor.advance(15)
    floor.advance(15)  # a1 busy, a2 in retry delay for 5 s then offered again...
    floor.answer("slow", "a2")  # answered in 30 s: not within
    floor.arrive("short", "q")
    floor.advance(5)
    floor.feed(CallerHungUp("short"))  # left before the threshold: not counted
    floor.arrive("long", "q")
    floor.arrive("waiting", "q")
    floor.advance(40)
    floor.feed(CallerHungUp("long"))  # left after 40 s: counts against
    stats.apply_all(floor.log)
    snap = stats.queue("q", floor.now + 5)
    assert (snap.waiting, snap.longest_wait) == (1, 45.0)
    assert (snap.answered, snap.abandoned, snap.left, snap.answered_within) == (2, 2, 0, 1)
    assert snap.service_level == 1 / 3
    assert snap.average_wait == 20.0
    assert snap.agents[AgentState.ON_CALL] == 2 and snap.agents[AgentState.PAUSED] == 1
    a1 = stats.agent("a1")
    assert a1 is not None and (a1.state, a1.calls_today, a1.queues) == (
        AgentState.ON_CALL,
        1,
        frozenset({"q"}),
    )
    # The next day starts from zero, waiting callers stay.
    next_day = floor.now + 86400
    snap = stats.queue("q", next_day)
    assert (snap.answered, snap.abandoned, snap.service_level, snap.waiting) == (0, 0, None, 1)
    assert stats.agent("a1", next_day).calls_today == 0  # type: ignore[union-attr]
    floor.feed(Tick(), next_day)
    touched = stats.apply_all(floor.log[-3:])
    assert stats.queue("q", next_day).answered == 0
    assert touched.queues <= {"q"}


def test_the_fold_agrees_with_the_core_through_random_days() -> None:
    for seed in range(4):
        driver = Driver(seed)
        stats = Stats.for_queues(QUEUES)

        def check(actions: list[Action], driver: Driver = driver, stats: Stats = stats) -> None:
            stats.apply_all(actions)
            for q in QUEUES:
                snap = stats.queue(q.name, driver.now)
                # Callers and callbacks waiting (a callback being dialled waits no more).
                assert snap.waiting + snap.callbacks == len(driver.acd.waiting(q.name))
                members = [
                    v
                    for a in driver.acd.agent_ids()
                    if (v := driver.acd.agent(a)) and q.name in v.queues
                ]
                assert sum(snap.agents.values()) == len(members)
                for state in AgentState:
                    assert snap.agents[state] == sum(1 for v in members if v.state is state)
            for agent_id in driver.acd.agent_ids():
                view, seen = driver.acd.agent(agent_id), stats.agent(agent_id)
                if seen is not None and view is not None:
                    assert (seen.state, seen.since, seen.queues) == (
                        view.state,
                        view.since,
                        view.queues,
                    )
                    assert seen.calls_today == view.calls_today

        driver.on_step = check
        random_day(driver, random.Random(seed), 300)
