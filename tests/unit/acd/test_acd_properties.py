"""Random interleavings of everything that can happen keep the ACD's invariants (see acd_driver)."""

from __future__ import annotations

import random

from acd_driver import AGENT_ACTIONS, MAX_WRAPUP, Driver, random_day
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pbx_stasis.acd import AgentState, JournalEvent


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.driver = Driver(seed=0)

    @rule(
        queue=st.integers(0, 3),
        priority=st.integers(0, 2),
        needs=st.integers(0, 4),
        max_wait=st.none() | st.sampled_from([5.0, 45.0]),
    )
    def arrive(self, queue: int, priority: int, needs: int, max_wait: float | None) -> None:
        self.driver.arrive(queue, priority, needs, max_wait)

    @rule(pick=st.integers(0, 20))
    def answer(self, pick: int) -> None:
        self.driver.answer(pick)

    @rule(pick=st.integers(0, 20))
    def answer_late(self, pick: int) -> None:
        self.driver.answer_late(pick)

    @rule(pick=st.integers(0, 20), fail=st.booleans())
    def refuse(self, pick: int, fail: bool) -> None:
        self.driver.refuse(pick, fail)

    @rule(pick=st.integers(0, 20), agent_side=st.booleans())
    def hang_up(self, pick: int, agent_side: bool) -> None:
        self.driver.hang_up(pick, agent_side)

    @rule(pick=st.integers(0, 20), queue=st.none() | st.integers(0, 3))
    def transfer(self, pick: int, queue: int | None) -> None:
        self.driver.transfer(pick, queue)

    @rule(pick=st.integers(0, 20), on=st.booleans())
    def hold(self, pick: int, on: bool) -> None:
        self.driver.hold(pick, on)

    @rule(pick=st.integers(0, 4), what=st.sampled_from(AGENT_ACTIONS), queues=st.integers(0, 15))
    def agent(self, pick: int, what: str, queues: int) -> None:
        self.driver.agent(pick, what, queues)

    @rule(pick=st.integers(0, 20), queue=st.integers(0, 3), talk=st.booleans(),
          ended=st.booleans())
    def adopt(self, pick: int, queue: int, talk: bool, ended: bool) -> None:
        self.driver.adopt(pick, queue, talk, ended)

    @rule(pick=st.integers(0, 20))
    def request_callback(self, pick: int) -> None:
        self.driver.request_callback(pick)

    @rule(queue=st.integers(0, 3), attempts=st.integers(0, 2), rest=st.sampled_from([0.0, 30.0]))
    def queue_callback(self, queue: int, attempts: int, rest: float) -> None:
        self.driver.queue_callback(queue, attempts, rest)

    @rule(pick=st.integers(0, 20),
          result=st.sampled_from(["answer", "busy", "no_answer", "not_allowed"]))
    def callback_result(self, pick: int, result: str) -> None:
        self.driver.callback_result(pick, result)

    @rule(pick=st.integers(0, 20))
    def cancel_callback(self, pick: int) -> None:
        self.driver.cancel_callback(pick)

    @rule(queue=st.integers(0, 3), strategy=st.integers(0, 5))
    def reconfigure(self, queue: int, strategy: int) -> None:
        self.driver.reconfigure(queue, strategy)

    @rule(seconds=st.sampled_from([0.0, 0.5, 2.0, 5.0, 9.0, 31.0]))
    def tick(self, seconds: float) -> None:
        self.driver.tick(seconds)

    @rule()
    def drain(self) -> None:
        self.driver.drain()

    @invariant()
    def wrap_up_ends(self) -> None:
        # Every agent in wrap-up has its end scheduled no later than the longest wrap-up.
        deadline = self.driver.acd.next_deadline()
        if AgentState.WRAP_UP in self.driver.states.values():
            assert deadline is not None and deadline <= self.driver.now + MAX_WRAPUP

    def teardown(self) -> None:
        self.driver.drain()


TestAcdMachine = AcdMachine.TestCase
TestAcdMachine.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_long_random_days_keep_every_invariant() -> None:
    """Longer runs than hypothesis explores, from fixed seeds: a busy floor for hours."""
    total_connects = 0
    seen: set[JournalEvent] = set()
    for seed in range(12):
        driver = Driver(seed)
        random_day(driver, random.Random(seed), 600)
        total_connects += driver.connects
        seen |= driver.seen
    # The runs do reach the interesting states.
    assert total_connects > 300
    assert seen == set(JournalEvent)
