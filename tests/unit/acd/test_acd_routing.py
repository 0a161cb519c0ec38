"""Who may be offered which call: skills and escalation, priority, penalties, eligibility."""

from __future__ import annotations

import pytest
from acd_floor import Floor, offered, only, states

from pbx_stasis.acd import (
    AgentConfig,
    AgentConfigChanged,
    AgentLogout,
    AgentPause,
    AgentRegistered,
    AgentUnpause,
    AgentUnregistered,
    CallerHungUp,
    CancelOffer,
    EscalationStep,
    JournalEvent,
    Offer,
    OfferAnswered,
    QueueConfig,
    Strategy,
    TransferToQueue,
)
from pbx_stasis.acd.events import PriorityChanged


def agent(agent_id: str, **skills: int) -> AgentConfig:
    return AgentConfig(agent_id, f"PJSIP/{agent_id}", skills=skills)


def test_a_call_requiring_a_skill_waits_for_an_agent_who_has_it() -> None:
    floor = Floor([QueueConfig("q")], [agent("novice", sales=1), agent("expert", sales=4)])
    floor.ready("novice", "q")
    assert offered(floor.arrive("c1", "q", skills={"sales": 3})) == []
    # A call anyone can take is not stuck behind it.
    assert offered(floor.arrive("c2", "q")) == [("c2", "novice")]
    assert offered(floor.ready("expert", "q")) == [("c1", "expert")]
    floor.audit()


def test_escalation_widens_the_requirement_after_the_wait() -> None:
    queue = QueueConfig(
        "q",
        retry_delay=100,
        escalation=(EscalationStep(after=30, relax=1), EscalationStep(after=60, relax=9)),
    )
    floor = Floor([queue], [agent("level2", sales=2), agent("none")])
    floor.ready("level2", "q")
    floor.ready("none", "q")
    floor.arrive("c1", "q", skills={"sales": 3})
    assert offered(floor.advance(29.9)) == []
    assert floor.acd.next_deadline() == pytest.approx(floor.now + 0.1)
    assert offered(floor.advance(0.1)) == [("c1", "level2")]  # 3 - 1 <= 2, at exactly 30 s
    floor.reject("c1", "level2")  # now in their retry delay
    assert offered(floor.advance(29)) == []  # "none" has no sales skill at all
    assert offered(floor.advance(1)) == [("c1", "none")]  # the requirement is dropped at 60 s
    floor.audit()


def test_escalation_raises_the_max_penalty() -> None:
    queue = QueueConfig("q", max_penalty=0, escalation=(EscalationStep(after=20, max_penalty=5),))
    backup = AgentConfig("backup", "PJSIP/backup", penalties={"q": 3})
    floor = Floor([queue], [backup])
    floor.ready("backup", "q")
    assert offered(floor.arrive("c1", "q")) == []
    assert offered(floor.advance(20)) == [("c1", "backup")]


def test_lower_penalty_agents_are_offered_first_whatever_the_strategy_order() -> None:
    queue = QueueConfig("q", strategy=Strategy.LINEAR, agent_order=("tier2", "tier1"))
    floor = Floor([queue], [AgentConfig("tier2", "PJSIP/t2", penalties={"q": 2}), "tier1"])
    floor.ready("tier2", "q")
    floor.ready("tier1", "q")
    assert offered(floor.arrive("c1", "q")) == [("c1", "tier1")]
    assert offered(floor.arrive("c2", "q")) == [("c2", "tier2")]  # only when tier 1 is busy


def test_higher_priority_callers_go_first_then_first_come_first_served() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.arrive("low", "q")
    floor.advance(1)
    floor.arrive("high", "q", priority=5)
    floor.advance(1)
    floor.arrive("low2", "q")
    floor.arrive("high2", "q", priority=5)
    assert floor.acd.waiting("q") == ["high", "high2", "low", "low2"]
    rows = floor.journal(JournalEvent.ENTERQUEUE)
    assert [(r.call_id, r.data["position"]) for r in rows] == [
        ("low", 1),
        ("high", 1),
        ("low2", 3),
        ("high2", 2),
    ]
    served = []
    floor.ready("a1", "q")
    for _ in range(4):
        ((call_id, _),) = [(o.call_id, o.agent_id) for o in floor.pending.values()]
        served.append(call_id)
        floor.answer(call_id, "a1")
        floor.feed(CallerHungUp(call_id))
    assert served == ["high", "high2", "low", "low2"]


def test_a_caller_keeps_their_place_when_an_offer_fails() -> None:
    floor = Floor([QueueConfig("q", retry_delay=10)], ["a1", "a2"])
    floor.arrive("first", "q")
    floor.arrive("second", "q")
    floor.ready("a1", "q")
    assert floor.offered_call("a1") == "first"
    floor.reject("first", "a1")
    assert floor.acd.waiting("q") == ["first", "second"]
    # The next agent gets the first caller, not the second.
    assert offered(floor.ready("a2", "q")) == [("first", "a2")]
    floor.fail("first", "a2")
    floor.advance(10)  # both retry delays end together: a1 logged in first
    assert floor.offered_call("a1") == "first"
    assert floor.offered_call("a2") == "second"
    floor.audit()


def test_an_unanswered_offer_times_out_and_the_next_agent_is_tried() -> None:
    floor = Floor([QueueConfig("q", ring_timeout=15)], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.ready("a2", "q")
    first = only(floor.arrive("c1", "q"), Offer)[0]
    assert floor.acd.next_deadline() == floor.now + 15
    actions = floor.advance(15)
    assert only(actions, CancelOffer) == [CancelOffer(first.offer_id, "c1", "a1", "timeout")]
    assert offered(actions) == [("c1", "a2")]
    (row,) = floor.journal(JournalEvent.RINGNOANSWER)
    assert (row.agent_id, row.data["ring_ms"], row.data["reason"]) == ("a1", 15000, "timeout")
    # The first agent's answer arrives too late: that leg is hung up.
    late = floor.feed(OfferAnswered(first.offer_id, "c1", "a1"))
    assert only(late, CancelOffer) == [CancelOffer(first.offer_id, "c1", "a1", "stale")]
    floor.audit()


def test_paused_unregistered_and_logged_out_agents_are_never_offered() -> None:
    floor = Floor([QueueConfig("q")], ["paused", "gone", "out", "phoneless"])
    for agent_id in ("paused", "gone", "out"):
        floor.ready(agent_id, "q")
    floor.feed(AgentPause("paused", "lunch"))
    floor.feed(AgentUnregistered("gone"))
    floor.feed(AgentLogout("out"))
    floor.feed(AgentConfigChanged(AgentConfig("phoneless", "PJSIP/x")))
    floor.feed(AgentRegistered("phoneless"))  # registered but never logged in
    assert offered(floor.arrive("c1", "q")) == []
    assert [
        (v.id, v.state.value, v.reason) for v in map(floor.acd.agent, floor.acd.agent_ids()) if v
    ] == [
        ("gone", "offline", "unregistered"),
        ("out", "offline", "logged out"),
        ("paused", "paused", "lunch"),
        ("phoneless", "offline", "logged out"),
    ]
    assert offered(floor.feed(AgentUnpause("paused"))) == [("c1", "paused")]
    floor.audit()


def test_pausing_or_unregistering_while_ringing_cancels_the_offer() -> None:
    floor = Floor([QueueConfig("q", retry_delay=0)], ["a1", "a2"])
    floor.ready("a1", "q")
    first = only(floor.arrive("c1", "q"), Offer)[0]
    actions = floor.feed(AgentPause("a1", "break"))
    assert only(actions, CancelOffer) == [CancelOffer(first.offer_id, "c1", "a1", "paused")]
    assert states(actions) == [("a1", "paused")]
    floor.ready("a2", "q")
    second = floor.offer("c1", "a2")
    actions = floor.feed(AgentUnregistered("a2"))
    assert only(actions, CancelOffer) == [CancelOffer(second.offer_id, "c1", "a2", "unregistered")]
    assert floor.acd.waiting("q") == ["c1"]
    # Neither counts as a missed offer.
    assert [r.event for r in floor.journal(call_id="c1")].count(JournalEvent.RINGNOANSWER) == 0
    floor.audit()


def test_an_agent_on_a_call_is_not_offered_another_unless_ring_in_use() -> None:
    floor = Floor([QueueConfig("strict"), QueueConfig("busy-ok", ring_in_use=True)], ["a1"])
    floor.ready("a1", "strict", "busy-ok")
    floor.arrive("c1", "strict")
    floor.answer("c1", "a1")
    assert offered(floor.arrive("c2", "strict")) == []
    assert offered(floor.arrive("c3", "busy-ok")) == [("c3", "a1")]
    floor.answer("c3", "a1")
    view = floor.acd.agent("a1")
    assert view is not None and view.calls == {"c1", "c3"} and view.state.value == "on-call"
    floor.feed(CallerHungUp("c1"))
    assert floor.state("a1") == "on-call"
    floor.feed(CallerHungUp("c3"))
    assert floor.offered_call("a1") == "c2"
    floor.audit()


def test_an_agent_in_several_queues_takes_the_heaviest_queue_first() -> None:
    floor = Floor([QueueConfig("light"), QueueConfig("heavy", weight=10)], ["a1"])
    floor.arrive("old", "light")
    floor.advance(60)
    floor.arrive("new", "heavy")
    assert offered(floor.ready("a1", "light", "heavy")) == [("new", "a1")]


def test_same_weight_queues_serve_the_longest_waiting_caller_first() -> None:
    floor = Floor([QueueConfig("x"), QueueConfig("y")], ["a1"])
    floor.arrive("later", "x")
    floor.arrive("sooner", "y", entered_at=floor.now - 30)  # adopted after a restart
    assert offered(floor.ready("a1", "x", "y")) == [("sooner", "a1")]


def test_transfer_to_queue_keeps_priority_and_skills() -> None:
    floor = Floor([QueueConfig("first"), QueueConfig("second")], [agent("a1", vip=1), agent("a2")])
    floor.ready("a1", "first")
    floor.arrive("c1", "first", priority=3, skills={"vip": 1})
    floor.answer("c1", "a1")
    floor.arrive("other", "second")
    actions = floor.feed(TransferToQueue("c1", "second"))
    rows = [r for r in actions if hasattr(r, "event")]
    assert [r.event for r in rows][:2] == [
        JournalEvent.TRANSFER,
        JournalEvent.ENTERQUEUE,
    ]
    assert floor.acd.waiting("second") == ["c1", "other"]  # priority 3 goes first
    floor.ready("a2", "second")
    assert floor.offered_call("a2") == "other"  # a2 lacks the vip skill c1 still requires
    floor.ready("a1", "second")
    assert floor.offered_call("a1") == "c1"
    floor.audit()


def test_agents_freed_together_each_take_a_waiting_caller() -> None:
    """Ringall's losers are freed at once: each goes to a caller waiting in their other queue."""
    floor = Floor(
        [QueueConfig("ring", strategy=Strategy.RINGALL), QueueConfig("other")], ["a1", "a2", "a3"]
    )
    for agent_id in ("a1", "a2", "a3"):
        floor.ready(agent_id, "ring", "other")
    floor.arrive("r1", "ring")
    floor.arrive("o1", "other")
    floor.arrive("o2", "other")
    assert floor.offered_to("o1") == floor.offered_to("o2") == []
    actions = floor.answer("r1", "a3")
    assert offered(actions) == [("o1", "a1"), ("o2", "a2")]
    floor.audit()


def test_a_supervisor_raising_a_waiting_calls_priority_moves_it_up_the_queue() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.arrive("first", "q")
    floor.arrive("second", "q")
    floor.feed(PriorityChanged("second", 5))
    assert floor.acd.waiting("q") == ["second", "first"]
    view = floor.acd.call("second")
    assert view is not None and (view.position, view.priority) == (1, 5)
    floor.ready("a1", "q")
    assert floor.offered_to("second") == ["a1"]
    floor.audit()
