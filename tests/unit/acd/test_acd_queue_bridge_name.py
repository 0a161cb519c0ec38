"""A waiting caller's queue request travels in their queue bridge's name (read back after a
restart): it round-trips, and a name that is not ours, or is damaged, gives nothing."""

from __future__ import annotations

import pytest

from pbx_stasis.calls.handoff import QueueRequest


def test_a_queue_request_round_trips_through_the_bridge_name() -> None:
    request = QueueRequest("sales", priority=3, skills={"fr": 2, "billing": 1}, max_wait=90.0,
                           entered_at=1795394414.176678)
    name = request.bridge_name()
    assert name.startswith("queue ")
    assert QueueRequest.from_bridge_name(name) == request
    bare = QueueRequest("support")
    assert QueueRequest.from_bridge_name(bare.bridge_name()) == bare


@pytest.mark.parametrize("name", [
    "", "queue sales", "conference 12", 'queue {"priority": 1}', 'queue {"queue": "s", '
    '"priority": "high"}', 'queue {"queue": "s", "skills": ["fr"]}', "queue [1, 2]",
])
def test_a_name_that_is_not_a_queue_request_gives_none(name: str) -> None:
    assert QueueRequest.from_bridge_name(name) is None
