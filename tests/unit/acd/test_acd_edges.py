"""Edges of the core's contract: odd input from the runner, days, clocks, live reconfiguration."""

from __future__ import annotations

from acd_floor import Floor, offered, only

from pbx_stasis.acd import (
    AgentConfig,
    AgentConfigChanged,
    AgentHungUp,
    AgentPause,
    AgentUnpause,
    CallArrived,
    CallerHungUp,
    CancelOffer,
    Connect,
    EscalationStep,
    OfferAnswered,
    OfferRejected,
    Overflow,
    QueueConfig,
    QueueConfigChanged,
    StartMoh,
    Strategy,
    Tick,
    TransferToQueue,
    WrapUpDone,
)


def test_an_answer_naming_another_call_or_agent_is_refused() -> None:
    floor = Floor([QueueConfig("q")], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    o = floor.offer("c1", "a1")
    actions = floor.feed(OfferAnswered(o.offer_id, "c1", "a2"))
    assert actions == [CancelOffer(o.offer_id, "c1", "a2", "stale")]
    assert only(floor.feed(OfferAnswered(o.offer_id, "c1", "a1")), Connect)


def test_unknown_or_repeated_input_changes_nothing() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    before = floor.acd.call("c1")
    for event in (
        CallArrived("c1", "q"),  # delivered twice
        CallerHungUp("nobody"),
        AgentHungUp("c1", "a1"),  # not connected yet
        OfferRejected(999, "c1", "a1"),
        AgentPause("ghost"),
        AgentUnpause("a1"),  # not paused
        WrapUpDone("a1"),  # not in wrap-up
        TransferToQueue("c1", "nowhere"),
    ):
        assert floor.feed(event) == [], event
    assert floor.acd.call("c1") == before
    floor.audit()


def test_calls_today_restart_at_midnight_for_fewest_calls() -> None:
    midnight = 86400.0 * 12
    floor = Floor(
        [QueueConfig("q", strategy=Strategy.FEWEST_CALLS)], ["a1", "a2"], start=midnight - 600
    )
    floor.ready("a1", "q")
    for call_id in ("c1", "c2"):
        floor.arrive(call_id, "q")
        floor.answer(call_id, "a1")
        floor.feed(CallerHungUp(call_id))
    floor.advance(60)
    floor.ready("a2", "q")
    assert [floor.acd.agent(a).calls_today for a in ("a1", "a2")] == [2, 0]  # type: ignore[union-attr]
    floor.feed(Tick(), midnight + 1)
    assert [floor.acd.agent(a).calls_today for a in ("a1", "a2")] == [0, 0]  # type: ignore[union-attr]
    # Yesterday a2 would have had it (0 calls against 2); today a1 has been idle longer.
    assert offered(floor.arrive("c3", "q")) == [("c3", "a1")]


def test_a_clock_going_backwards_is_held_at_the_last_time() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.arrive("c1", "q")
    t = floor.now
    floor.acd.feed(Tick(), t - 50)
    assert floor.acd.now == t
    floor.ready("a1", "q")
    actions = floor.acd.feed(OfferAnswered(1, "c1", "a1"), t - 100)
    assert only(actions, Connect)
    assert floor.acd.call("c1").entered_at == t  # type: ignore[union-attr]


def test_changing_a_queue_keeps_its_callers_and_applies_new_deadlines() -> None:
    floor = Floor([QueueConfig("q")], ["a1", "a2"])
    floor.arrive("c1", "q")
    floor.advance(100)
    floor.arrive("c2", "q")
    # A max wait of 60 s now applies: c1 has waited longer and leaves at once.
    actions = floor.feed(
        QueueConfigChanged(QueueConfig("q", max_wait=60, strategy=Strategy.LINEAR))
    )
    assert only(actions, Overflow) == [Overflow("c1", "q", None)]
    assert floor.acd.waiting("q") == ["c2"]
    assert floor.acd.next_deadline() == floor.now + 60
    floor.ready("a2", "q")
    assert floor.offered_call("a2") == "c2"


def test_new_escalation_steps_apply_to_callers_already_waiting() -> None:
    floor = Floor([QueueConfig("q")], [AgentConfig("a1", "PJSIP/a1")])
    floor.ready("a1", "q")
    floor.arrive("c1", "q", skills={"sales": 1})
    floor.advance(40)
    actions = floor.feed(
        QueueConfigChanged(QueueConfig("q", escalation=(EscalationStep(30, relax=1),)))
    )
    assert offered(actions) == [("c1", "a1")]


def test_new_skills_make_an_agent_eligible() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q", skills={"fr": 2})
    assert offered(
        floor.feed(AgentConfigChanged(AgentConfig("a1", "PJSIP/a1", skills={"fr": 2})))
    ) == [("c1", "a1")]
    floor.audit()


def test_an_adopted_call_keeps_its_wait() -> None:
    floor = Floor([QueueConfig("q", max_wait=60)], [])
    actions = floor.feed(CallArrived("c1", "q", entered_at=floor.now - 50))
    assert only(actions, StartMoh)
    assert floor.acd.next_deadline() == floor.now + 10
