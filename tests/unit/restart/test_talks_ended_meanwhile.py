"""Which carried-over talk ended while the standby took over (restart/adoption.py
`ended_meanwhile`): the caller's channel is what keeps a talk on, not the agent's leg."""

from __future__ import annotations

from pbx_stasis.acd.restore import OpenTalk
from pbx_stasis.restart.adoption import _CarriedTalk, ended_meanwhile

CALLER, AGENT_LEG = "1764660000.12", "agent-leg-1"


def carried(call_id: str, caller: str) -> _CarriedTalk:
    return _CarriedTalk(OpenTalk(call_id=call_id, channel_id=caller, queue="1:sales",
                                 agent_id="7", connected_at=100.0, entered_at=90.0,
                                 caller="+14155550199", orig_position=1))


def test_a_caller_gone_before_the_resync_ends_the_talk_though_the_agents_leg_is_followed(
        ) -> None:
    talk = carried("call-1", CALLER)
    by_channel = {CALLER: talk, AGENT_LEG: talk}  # both channels share it
    # the caller hung up as the standby took over: only the agent's leg is still in Stasis
    assert ended_meanwhile(by_channel.values(), lambda channel: channel == AGENT_LEG) == [talk]


def test_a_caller_still_followed_keeps_the_talk_on() -> None:
    talk = carried("call-1", CALLER)
    assert ended_meanwhile([talk, talk], lambda channel: channel == CALLER) == []


def test_each_talk_once() -> None:
    one, two = carried("call-1", CALLER), carried("call-2", "1764660000.13")
    assert ended_meanwhile([one, one, two], lambda channel: False) == [one, two]
