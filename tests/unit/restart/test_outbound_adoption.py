"""Which conversation found in Asterisk after a restart is an agent's own outside call to carry
over (restart/adoption.py `outside_call_of`, `far_end_talk`): pure decisions on the bridge's name,
its channels and the talk the journal leaves open."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pbx_stasis.acd.restore import OpenTalk
from pbx_stasis.restart.adoption import far_end_talk, outside_call_of

AGENT_PHONE = "1764660000.12"  # the call record's channel: the agent's phone
FAR = "9f2c0d0e5a1b4c7d8e9f00112233aabb"  # the trunk leg the app originated
TALK = OpenTalk(call_id="call-1", channel_id=AGENT_PHONE, queue="1:sales", agent_id="7",
                connected_at=100.0, entered_at=100.0, caller="+14155550199",
                orig_position=0, outbound=True)


def bridge(name: str, *channels: str) -> Any:
    return {"id": "b1", "name": name, "channels": list(channels)}


def test_an_outside_bridge_names_its_call() -> None:
    assert outside_call_of(bridge("outside-call-1", AGENT_PHONE, FAR)) == "call-1"
    assert outside_call_of(bridge("q-call-1-0|sales|100.0", AGENT_PHONE, FAR)) is None
    assert outside_call_of(bridge("outside-", AGENT_PHONE)) is None
    assert outside_call_of({"id": "b2", "channels": []}) is None  # type: ignore[arg-type]


def test_the_far_leg_takes_the_callers_part() -> None:
    carried = far_end_talk(TALK, [AGENT_PHONE, FAR])
    assert carried == replace(TALK, channel_id=FAR)
    assert far_end_talk(TALK, [FAR, AGENT_PHONE]) == carried  # whatever the order


def test_a_conversation_that_is_not_whole_is_not_carried_over() -> None:
    assert far_end_talk(TALK, [FAR]) is None  # the agent hung up while the app was away
    assert far_end_talk(TALK, [AGENT_PHONE]) is None  # the far end did
    assert far_end_talk(TALK, [AGENT_PHONE, FAR, "supervisor-leg"]) is None
    assert far_end_talk(TALK, ["someone", FAR]) is None  # not the call's record channel


def test_a_queue_calls_talk_is_no_outbound_one() -> None:
    """An IVR's transfer out also talks in an outside bridge: without OUTCONNECT it stays
    outside the ACD."""
    assert far_end_talk(replace(TALK, outbound=False), [AGENT_PHONE, FAR]) is None
