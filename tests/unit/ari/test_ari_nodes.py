"""Several Asterisk nodes behind one client: which node each request goes to (pure parts)."""

from __future__ import annotations

import pytest

from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.nodes import (
    NodeBook,
    Route,
    awaited_nodes,
    chosen_ids,
    lost_nodes,
    node_lost_event,
    route,
)
from pbx_stasis.calls.actor import EventInbox


def book(*up: str) -> NodeBook:
    nodes = NodeBook(["node1", "node2", "node10"])
    nodes.up.update(up or nodes.names)
    return nodes


def test_ids_by_what_was_learned_else_by_systemname_prefix() -> None:
    nodes = book()
    assert nodes.node_of("node2-1733140000.17") == "node2"
    assert nodes.node_of("node10-1733140000.3") == "node10"  # not node1's
    assert nodes.node_of("queue-abc-123") is None
    nodes.learn("queue-abc-123", "node1")
    assert nodes.node_of("queue-abc-123") == "node1"
    nodes.forget("queue-abc-123")
    assert nodes.node_of("queue-abc-123") is None


def test_the_oldest_ids_are_forgotten_first() -> None:
    nodes = NodeBook(["a", "b"], capacity=2)
    for object_id in ("x", "y", "z"):
        nodes.learn(object_id, "a")
    assert [nodes.node_of(i) for i in ("x", "y", "z")] == [None, "a", "a"]
    assert nodes.size == 2


def test_a_request_goes_to_the_node_of_its_channel_or_bridge() -> None:
    nodes = book()
    nodes.learn("bridge-1", "node1")
    assert route(ops.CHANNELS_ANSWER, {"channelId": "node2-1.1"}, {}, nodes, "node1") == \
        Route("one", "node2")
    assert route(ops.BRIDGES_ADD_CHANNEL, {"bridgeId": "bridge-1"},
                 {"channel": ["node1-1.2"]}, nodes, None) == Route("one", "node1")
    # nobody knows it: each node in turn until one has it
    assert route(ops.CHANNELS_HANGUP, {"channelId": "mystery"}, {}, nodes, "node1") == \
        Route("probe")


def test_the_agents_leg_is_originated_on_the_callers_node() -> None:
    nodes = book()
    query = {"endpoint": "PJSIP/agent-7", "originator": "node2-1733.5", "channelId": "leg-1"}
    assert route(ops.CHANNELS_ORIGINATE, {}, query, nodes, "node1") == Route("one", "node2")
    assert chosen_ids(ops.CHANNELS_ORIGINATE, query) == ["leg-1"]


def test_what_names_nothing_goes_to_the_node_of_the_call_that_sends_it() -> None:
    nodes = book()
    query = {"type": "mixing", "bridgeId": "queue-x", "name": "stay"}
    assert route(ops.BRIDGES_CREATE, {}, query, nodes, "node2") == Route("one", "node2")
    assert chosen_ids(ops.BRIDGES_CREATE, query) == ["queue-x", "stay"]
    # its node is down: another one
    nodes.up.discard("node2")
    assert route(ops.BRIDGES_CREATE, {}, query, nodes, "node2").node in {"node1", "node10"}
    nodes.up.clear()
    assert route(ops.BRIDGES_CREATE, {}, query, nodes, "node2") == Route("one", None)


def test_lists_are_unions_and_agents_endpoints_go_everywhere() -> None:
    nodes = book()
    assert route(ops.CHANNELS_LIST, {}, {}, nodes, None) == Route("union")
    assert route(ops.BRIDGES_LIST, {}, {}, nodes, None) == Route("union")
    assert route(ops.APPLICATIONS_GET, {"applicationName": "pbx"}, {}, nodes, None) == \
        Route("application")
    config = {"configClass": "res_pjsip", "objectType": "endpoint", "id": "agent-7"}
    assert route(ops.ASTERISK_UPDATE_CONFIG, config, {}, nodes, None) == Route("every")


@pytest.mark.parametrize(("source", "expected"), [
    ("deviceState:PJSIP/agent-7", Route("every")),
    ("endpoint:PJSIP", Route("every")),
    ("channel:node2-1733.9", Route("one", "node2")),
    ("channel:unknown", Route("probe")),
])
def test_subscriptions(source: str, expected: Route) -> None:
    assert route(ops.APPLICATIONS_SUBSCRIBE, {"applicationName": "pbx"},
                 {"eventSource": source}, book(), None) == expected


def test_pick_takes_turns_over_the_nodes_up() -> None:
    nodes = book("node1", "node2")
    assert {nodes.pick() for _ in range(4)} == {"node1", "node2"}
    assert nodes.pick("node10") in {"node1", "node2"}  # not up: not chosen


def test_names_must_be_distinct() -> None:
    with pytest.raises(ValueError, match="repeat"):
        NodeBook(["a", "a"])
    with pytest.raises(ValueError, match="at least one"):
        NodeBook([])


def test_a_call_lost_with_its_node_ends_as_the_systems_doing() -> None:
    inbox = EventInbox("node2-1.1")
    inbox.put(node_lost_event("node2-1.1", "node2"))
    inbox.settle()
    assert inbox.gone and inbox.destroyed
    assert (inbox.hangup.cause, inbox.hangup.cause_text) == (38, "node-lost")
    assert inbox.hangup.side() == "system"


def test_a_node_is_lost_after_its_socket_stays_down_the_grace() -> None:
    down: dict[str, float] = {}
    assert lost_nodes(down, {"node1": True, "node2": False}, 10.0, 2.5) == []
    assert lost_nodes(down, {"node1": True, "node2": False}, 12.0, 2.5) == []
    assert lost_nodes(down, {"node1": True, "node2": False}, 12.5, 2.5) == ["node2"]


def test_a_socket_back_within_the_grace_starts_the_count_over() -> None:
    # node2's socket blips (or was seen down while its first connect was being set up), then is
    # up for a while: the next drop gets the whole grace again, its calls are not ended at once
    down: dict[str, float] = {}
    assert lost_nodes(down, {"node2": False}, 10.0, 2.5) == []
    assert lost_nodes(down, {"node2": True}, 11.0, 2.5) == []
    assert lost_nodes(down, {"node2": False}, 60.0, 2.5) == []
    assert lost_nodes(down, {"node2": False}, 62.5, 2.5) == ["node2"]


def test_the_first_resync_waits_for_every_node_still_connecting() -> None:
    sockets = {"node1": True, "node2": False, "node3": False}
    # node3's first attempt was refused: down, not awaited; node2 may still connect
    assert awaited_nodes(sockets, set(), {"node3"}, first=True) == ["node2"]
    assert awaited_nodes({"node1": True, "node2": True}, set(), set(), first=True) == []


def test_a_later_resync_waits_for_nodes_counted_up_whose_socket_is_down() -> None:
    sockets = {"node1": True, "node2": False, "node3": False}
    # node2 is up (its calls live) but its socket dropped: listed without it, its calls would
    # look gone; node3 was declared lost (not up): its calls ended as lost already
    assert awaited_nodes(sockets, {"node1", "node2"}, {"node2", "node3"}, first=False) == [
        "node2"]
    assert awaited_nodes(sockets, {"node1"}, set(), first=False) == []
