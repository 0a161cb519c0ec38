"""Each strategy picks the right agent over a series of calls."""

from __future__ import annotations

from collections import Counter

from acd_floor import Floor, offered, only

from pbx_stasis.acd import (
    AgentConfig,
    AgentHungUp,
    CallerHungUp,
    CancelOffer,
    Connect,
    JournalEvent,
    OfferAnswered,
    QueueConfig,
    Strategy,
)


def serve(floor: Floor, call_id: str, talk: float = 30.0) -> str:
    """Place a call, let the agent it is offered to answer, talk, hang up; returns the agent."""
    actions = floor.arrive(call_id, "q")
    ((_, agent_id),) = offered(actions)
    floor.answer(call_id, agent_id)
    floor.advance(talk)
    floor.feed(CallerHungUp(call_id))
    floor.advance(1)
    return agent_id


def three_agents(strategy: Strategy, **options: object) -> Floor:
    queue = QueueConfig("q", strategy=strategy, **options)  # type: ignore[arg-type]
    floor = Floor([queue], ["a1", "a2", "a3"])
    for agent_id in ("a1", "a2", "a3"):
        floor.ready(agent_id, "q")
        floor.advance(1)
    return floor


def test_longest_idle_picks_whoever_ended_their_last_call_first() -> None:
    floor = three_agents(Strategy.LONGEST_IDLE)
    # Nobody has had a call: idle since login, a1 first.
    assert [serve(floor, f"c{i}") for i in range(3)] == ["a1", "a2", "a3"]
    assert serve(floor, "c3") == "a1"
    # a2 takes a long call while a3 and a1 take short ones: a2 ends last, comes last.
    floor.arrive("long", "q")
    floor.answer("long", "a2")
    assert serve(floor, "c4") == "a3"
    floor.advance(100)
    floor.feed(AgentHungUp("long", "a2"))
    floor.advance(1)
    assert [serve(floor, f"c{i}") for i in range(5, 8)] == ["a1", "a3", "a2"]
    floor.audit()


def test_fewest_calls_then_longest_idle() -> None:
    floor = three_agents(Strategy.FEWEST_CALLS, retry_delay=60.0)
    assert serve(floor, "c1") == "a1"
    assert serve(floor, "c2") == "a2"
    # a3 has no call yet but declines: the caller goes to the fewest-calls agent among the rest
    # (a1 and a2 have one each; a1 has been idle longer).
    ((_, first),) = offered(floor.arrive("c3", "q"))
    assert first == "a3"
    assert offered(floor.reject("c3", "a3")) == [("c3", "a1")]
    floor.answer("c3", "a1")
    floor.feed(CallerHungUp("c3"))
    floor.advance(61)  # a3's retry delay is over
    assert serve(floor, "c4") == "a3"  # 0 calls
    assert serve(floor, "c5") == "a2"  # 1 call, a3 has 1 but ended later
    assert serve(floor, "c6") == "a3"  # a1 has 2
    floor.audit()


def test_round_robin_remembers_its_place() -> None:
    floor = three_agents(Strategy.ROUND_ROBIN, agent_order=("a1", "a2", "a3"))
    assert serve(floor, "c1") == "a1"
    assert serve(floor, "c2") == "a2"
    assert serve(floor, "c3") == "a3"
    assert serve(floor, "c4") == "a1"  # wraps around
    # a2 is busy when its turn comes: a3 is next, and after a3 comes a1 again, not a2.
    floor.arrive("busy", "q")
    floor.answer("busy", "a2")
    assert serve(floor, "c5") == "a3"
    floor.feed(CallerHungUp("busy"))
    assert serve(floor, "c6") == "a1"
    assert serve(floor, "c7") == "a2"
    floor.audit()


def test_round_robin_agents_not_in_the_order_follow_by_id() -> None:
    floor = Floor([QueueConfig("q", strategy=Strategy.ROUND_ROBIN, agent_order=("b",))], "abc")
    for agent_id in "cab":
        floor.ready(agent_id, "q")
    assert [serve(floor, f"c{i}") for i in range(4)] == ["b", "a", "c", "b"]


def test_linear_always_starts_from_the_top() -> None:
    floor = three_agents(Strategy.LINEAR, agent_order=("a3", "a1", "a2"))
    assert serve(floor, "c1") == "a3"
    assert serve(floor, "c2") == "a3"
    floor.arrive("busy", "q")
    floor.answer("busy", "a3")
    assert serve(floor, "c3") == "a1"
    assert serve(floor, "c4") == "a1"
    floor.feed(CallerHungUp("busy"))
    assert serve(floor, "c5") == "a3"


def test_random_is_seeded_and_only_picks_free_agents() -> None:
    def picks(seed: int) -> list[str]:
        agents = ["a1", "a2", "a3", "a4"]
        floor = Floor([QueueConfig("q", strategy=Strategy.RANDOM)], agents, seed=seed)
        for agent_id in agents:
            floor.ready(agent_id, "q")
        ((_, busy),) = offered(floor.arrive("busy", "q"))
        floor.answer("busy", busy)
        chosen = [serve(floor, f"c{i}") for i in range(200)]
        assert busy not in chosen
        return chosen

    first = picks(0)
    assert first == picks(0)  # same seed, same choices
    assert first != picks(1)
    counts = Counter(first)
    assert len(counts) == 3 and min(counts.values()) > 40  # roughly uniform over the free three


def test_ringall_rings_every_free_agent_and_the_first_answer_wins() -> None:
    floor = three_agents(Strategy.RINGALL)
    actions = floor.arrive("c1", "q")
    assert offered(actions) == [("c1", "a1"), ("c1", "a2"), ("c1", "a3")]
    answered = floor.offer("c1", "a2")
    actions = floor.answer("c1", "a2")
    assert only(actions, Connect) == [Connect(answered.offer_id, "c1", "a2", "q")]
    assert sorted(c.agent_id for c in only(actions, CancelOffer)) == ["a1", "a3"]
    cancelled = floor.journal(JournalEvent.RINGCANCELED, call_id="c1")
    assert sorted(str(r.agent_id) for r in cancelled) == ["a1", "a3"]
    assert floor.state("a1") == floor.state("a3") == "available"
    floor.audit()


def test_ringall_second_answer_is_hung_up_not_bridged() -> None:
    """app_queue's ringall double answer (asterisk#176) cannot happen: one Connect per call."""
    floor = three_agents(Strategy.RINGALL)
    floor.arrive("c1", "q")
    o = floor.offer("c1", "a3")
    floor.answer("c1", "a1")
    # a3's phone answered before its CancelOffer was carried out.
    actions = floor.feed(OfferAnswered(o.offer_id, "c1", "a3"))
    assert only(actions, Connect) == []
    assert only(actions, CancelOffer) == [CancelOffer(o.offer_id, "c1", "a3", "stale")]
    assert len([c for c in floor.log if isinstance(c, Connect)]) == 1
    assert floor.state("a3") == "available"
    view = floor.acd.call("c1")
    assert view is not None and view.agent_id == "a1"
    floor.audit()


def test_ringall_adds_agents_who_become_free_while_ringing() -> None:
    floor = Floor([QueueConfig("q", strategy=Strategy.RINGALL)], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    assert floor.offered_to("c1") == ["a1"]
    floor.ready("a2", "q")
    assert floor.offered_to("c1") == ["a1", "a2"]
    # A second caller waits: nobody is free for them until the first one is answered.
    floor.arrive("c2", "q")
    assert floor.offered_to("c2") == []
    floor.answer("c1", "a2")
    assert floor.offered_to("c2") == ["a1"]
    floor.audit()


def test_ringall_rings_the_best_tier_and_the_next_only_when_it_fails() -> None:
    queue = QueueConfig("q", strategy=Strategy.RINGALL, ring_timeout=10, retry_delay=30)
    tier1 = [AgentConfig(a, f"PJSIP/{a}", penalties={"q": 1}) for a in ("b1", "b2")]
    floor = Floor([queue], ["a1", "a2", *tier1])
    for agent_id in ("a1", "a2", "b1"):
        floor.ready(agent_id, "q")
    assert offered(floor.arrive("c1", "q")) == [("c1", "a1"), ("c1", "a2")]
    assert offered(floor.ready("b2", "q")) == []  # a worse tier while the best one rings
    actions = floor.advance(10)  # both tier-0 offers time out together
    assert offered(actions) == [("c1", "b1"), ("c1", "b2")]
    floor.audit()
