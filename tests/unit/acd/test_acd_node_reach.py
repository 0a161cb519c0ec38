"""An agent's phone as each Asterisk node sees it (acd/reach.py), and the core offering a caller
on node N only agents reachable from N (the agent's leg is originated on the caller's node)."""

from __future__ import annotations

from acd_floor import START, Floor, only

from pbx_stasis.acd import (
    AgentLogin,
    AgentRegistered,
    AgentUnregistered,
    CancelOffer,
    QueueConfig,
    Strategy,
)
from pbx_stasis.acd.reach import PhoneReach

# --- the per-node map (pure) ----------------------------------------------------------------


def test_one_node_online_the_other_unavailable_a_caller_on_the_other_is_not_offered() -> None:
    reach = PhoneReach()
    reach.report("node1", True)
    reach.report("node2", False)
    assert reach.registered
    assert reach.unreachable_on == frozenset({"node2"})
    assert reach.reachable_on("node1")
    assert not reach.reachable_on("node2")


def test_both_nodes_online_the_agent_is_reachable_from_either() -> None:
    reach = PhoneReach()
    reach.report("node1", True)
    reach.report("node2", True)
    assert reach.unreachable_on == frozenset()
    assert reach.reachable_on("node1") and reach.reachable_on("node2")


def test_a_node_that_said_nothing_yet_holds_no_offer_back() -> None:
    reach = PhoneReach()
    reach.report("node1", True)
    assert reach.reachable_on("node2")


def test_a_lost_nodes_states_are_forgotten() -> None:
    reach = PhoneReach()
    reach.report("node1", True)
    reach.report("node2", False)
    assert reach.forget("node2")
    assert reach.unreachable_on == frozenset() and reach.reachable_on("node2")
    assert not reach.forget("node2")  # nothing left of it
    # the only node that reached the phone lost: nobody can ring it
    reach.report("node2", False)
    assert reach.forget("node1")
    assert not reach.registered and not reach.reachable_on("node2")


def test_no_node_reaching_the_phone_is_unregistered_not_split() -> None:
    reach = PhoneReach()
    reach.report("node1", False)
    reach.report("node2", False)
    assert not reach.registered and reach.unreachable_on == frozenset()


def test_one_node_reports_from_no_node_exactly_as_before() -> None:
    reach = PhoneReach()
    reach.report(None, True)
    assert reach.registered and reach.reachable_on(None) and reach.unreachable_on == frozenset()
    reach.report(None, False)
    assert not reach.registered


def test_a_nodes_word_supersedes_a_report_from_no_node() -> None:
    reach = PhoneReach()
    reach.report(None, True)  # a refresh outside any node's events (an admin change)
    reach.report("node1", False)
    assert not reach.registered


# --- the core offering by the caller's node ----------------------------------------------------


def split_floor(*agents: str, strategy: Strategy = Strategy.LONGEST_IDLE) -> Floor:
    floor = Floor([QueueConfig("q", strategy=strategy)], list(agents))
    for agent_id in agents:
        floor.feed(AgentLogin(agent_id, ["q"]))
    return floor


def test_a_caller_on_the_node_that_cannot_reach_the_agent_is_not_offered_them() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1", frozenset({"node2"})))
    floor.arrive("c1", "q", node="node2")
    assert floor.offered_to("c1") == []
    floor.audit()
    floor.arrive("c2", "q", node="node1")
    assert floor.offered_to("c2") == ["a1"]
    floor.audit()


def test_both_nodes_reaching_the_agent_a_caller_on_either_is_offered() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1"))
    floor.arrive("c1", "q", node="node2")
    assert floor.offered_to("c1") == ["a1"]


def test_the_next_agent_the_callers_node_reaches_is_offered_instead() -> None:
    floor = split_floor("a1", "a2")  # longest idle: a1 first
    floor.feed(AgentRegistered("a1", frozenset({"node2"})), at=START)
    floor.feed(AgentRegistered("a2"), at=START + 1)
    floor.arrive("c1", "q", node="node2")
    assert floor.offered_to("c1") == ["a2"]
    floor.audit()
    floor.arrive("c2", "q", node="node1")  # a1 was held out only for c1, and is free still
    assert floor.offered_to("c2") == ["a1"]
    floor.audit()


def test_ringall_rings_only_those_the_callers_node_reaches() -> None:
    floor = split_floor("a1", "a2", "a3", strategy=Strategy.RINGALL)
    floor.feed(AgentRegistered("a1"))
    floor.feed(AgentRegistered("a2", frozenset({"node1"})))
    floor.feed(AgentRegistered("a3", frozenset({"node2"})))
    floor.arrive("c1", "q", node="node1")
    assert floor.offered_to("c1") == ["a1", "a3"]
    floor.audit()


def test_a_waiting_caller_is_offered_once_its_node_reaches_the_agent() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1", frozenset({"node2"})))
    floor.arrive("c1", "q", node="node2")
    assert floor.offered_to("c1") == []
    floor.feed(AgentRegistered("a1"))  # node2's qualify reached the phone (or node2 lost)
    assert floor.offered_to("c1") == ["a1"]
    floor.audit()


def test_an_offer_from_a_node_that_loses_the_phone_ends_unmissed() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1"))
    floor.arrive("c1", "q", node="node2")
    assert floor.offered_to("c1") == ["a1"]
    cancels = only(floor.feed(AgentRegistered("a1", frozenset({"node2"}))), CancelOffer)
    assert [(c.agent_id, c.reason) for c in cancels] == [("a1", "unregistered")]
    assert floor.offered_to("c1") == []
    assert floor.acd.agent("a1").missed == 0  # not the agent's miss: no auto-pause
    floor.audit()


def test_an_offer_from_a_node_that_still_reaches_the_phone_goes_on() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1"))
    floor.arrive("c1", "q", node="node1")
    assert only(floor.feed(AgentRegistered("a1", frozenset({"node2"}))), CancelOffer) == []
    assert floor.offered_to("c1") == ["a1"]
    floor.audit()


def test_one_node_callers_and_reports_carry_no_node_as_before() -> None:
    floor = split_floor("a1")
    floor.feed(AgentRegistered("a1"))
    floor.arrive("c1", "q")
    assert floor.offered_to("c1") == ["a1"]
    floor.feed(AgentUnregistered("a1"))
    assert floor.offered_to("c1") == []
    floor.audit()


def test_every_strategy_skips_the_agent_the_callers_node_cannot_reach() -> None:
    for strategy in (Strategy.ROUND_ROBIN, Strategy.RANDOM, Strategy.LINEAR,
                     Strategy.FEWEST_CALLS):
        for seed in range(5):
            floor = Floor([QueueConfig("q", strategy=strategy)], ["a1", "a2"], seed=seed)
            for agent_id in ("a1", "a2"):
                floor.feed(AgentLogin(agent_id, ["q"]))
            floor.feed(AgentRegistered("a1", frozenset({"node2"})))
            floor.feed(AgentRegistered("a2"))
            floor.arrive("c1", "q", node="node2")
            assert floor.offered_to("c1") == ["a2"], (strategy, seed)
            floor.arrive("c2", "q", node="node2")
            assert floor.offered_to("c2") == [], (strategy, seed)  # a1 is held out still
            floor.arrive("c3", "q", node="node1")
            assert floor.offered_to("c3") == ["a1"], (strategy, seed)
            floor.audit()
