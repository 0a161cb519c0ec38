"""The core tells the runner how a call ends and when wrap-up starts, as actions of their own:
the runner settles calls and hangs up agent legs on these, and only records journal rows."""

from __future__ import annotations

from acd_floor import START, Floor

from pbx_stasis.acd import (
    Action,
    AgentConfig,
    AgentHungUp,
    CallEnd,
    CallEnded,
    CallerHungUp,
    CallTransferred,
    JournalRow,
    QueueConfig,
    ReleaseAgentLeg,
    TransferToQueue,
    WrapUpStarted,
)


def talking(wrapup: float = 0.0) -> Floor:
    floor = Floor([QueueConfig("q", wrapup=wrapup), QueueConfig("other")], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    return floor


def decisions(actions: list[Action]) -> list[Action]:
    """The actions the runner acts on when a call ends (journal rows aside)."""
    kinds = (CallEnded, ReleaseAgentLeg, WrapUpStarted)
    return [a for a in actions if isinstance(a, kinds)]


def test_a_caller_who_hangs_up_while_waiting_abandons() -> None:
    floor = Floor([QueueConfig("q")])
    floor.arrive("c1", "q")
    assert decisions(floor.feed(CallerHungUp("c1"))) == [CallEnded("c1", CallEnd.ABANDONED)]


def test_the_caller_hangs_up_a_talk_the_agent_leg_is_released_then_wrap_up_starts() -> None:
    floor = talking(wrapup=30)
    actions = floor.feed(CallerHungUp("c1"), at=START + 10)
    assert decisions(actions) == [
        ReleaseAgentLeg("c1", "a1"),
        CallEnded("c1", CallEnd.COMPLETED, "a1"),
        WrapUpStarted("a1", "c1", "q", START + 10 + 30),
    ]
    # Each decision comes after the journal row that records it.
    rows = [a.event.value for a in actions if isinstance(a, JournalRow)]
    assert rows[:2] == ["COMPLETECALLER", "WRAPUPSTART"]


def test_the_agent_hangs_up_their_leg_is_gone_already() -> None:
    floor = talking()
    assert decisions(floor.feed(AgentHungUp("c1", "a1"))) == [
        CallEnded("c1", CallEnd.COMPLETED, "a1")
    ]


def test_a_transfer_out_of_the_acd_ends_the_call_there() -> None:
    floor = talking()
    assert decisions(floor.feed(CallTransferred("c1", "number:+15551234567"))) == [
        ReleaseAgentLeg("c1", "a1"),
        CallEnded("c1", CallEnd.TRANSFERRED),
    ]


def test_a_transfer_to_another_queue_keeps_the_call_and_releases_the_agent() -> None:
    floor = talking()
    assert decisions(floor.feed(TransferToQueue("c1", "other"))) == [ReleaseAgentLeg("c1", "a1")]
    assert floor.acd.call("c1") is not None


def test_wrap_up_follows_the_agents_own_time_over_the_queues() -> None:
    floor = Floor([QueueConfig("q", wrapup=30)], [AgentConfig("a1", "PJSIP/a1", wrapup=5)])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    started = [a for a in floor.feed(AgentHungUp("c1", "a1")) if isinstance(a, WrapUpStarted)]
    assert started == [WrapUpStarted("a1", "c1", "q", START + 5)]
