"""The core tells the runner how a call ends and when wrap-up starts, as actions of their own:
the runner settles calls and hangs up agent legs on these, and only records journal rows."""

from __future__ import annotations

from acd_floor import START, Floor, only

from pbx_stasis.acd import (
    Action,
    AgentConfig,
    AgentHungUp,
    AgentLogin,
    AgentRegistered,
    CallEnd,
    CallEnded,
    CallerHungUp,
    CallTransferred,
    Connect,
    JournalRow,
    QueueConfig,
    QueueConfigChanged,
    ReleaseAgentLeg,
    TransferToQueue,
    WrapUpStarted,
)
from pbx_stasis.acd.events import ConsultTaken
from pbx_stasis.acd.figures import Figures
from pbx_stasis.acd.model import personal_queue


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


# --- issue 13 item 8: each agent's part of a transferred call is theirs ---------------------


def with_personal_queue(floor: Floor, agent_id: str) -> str:
    """What the runner does before a transfer to a named agent: their queue of one."""
    name = personal_queue(agent_id)
    floor.feed(QueueConfigChanged(QueueConfig(name, max_wait=60.0, autopause_after=None)))
    floor.feed(AgentLogin(agent_id, [name]))
    floor.feed(AgentRegistered(agent_id))
    return name


def test_a_blind_transfer_to_an_agent_gives_both_agents_the_wrap_up_of_the_callers_queue() -> None:
    floor = talking(wrapup=30)
    mine = with_personal_queue(floor, "a2")
    actions = floor.feed(TransferToQueue("c1", mine), at=START + 10)
    assert only(actions, WrapUpStarted) == [WrapUpStarted("a1", "c1", "q", START + 40)]
    floor.answer("c1", "a2")
    actions = floor.feed(CallerHungUp("c1"), at=START + 70)
    # Before: the personal queue's wrap-up (none) applied, and the second agent had none.
    assert only(actions, WrapUpStarted) == [WrapUpStarted("a2", "c1", mine, START + 100)]
    floor.audit()


def test_an_attended_transfer_to_an_agent_hands_them_the_call_as_their_part() -> None:
    floor = talking(wrapup=30)
    mine = with_personal_queue(floor, "a2")
    actions = floor.feed(ConsultTaken("c1", "a2", mine, -7), at=START + 20)
    assert [a for a in actions if isinstance(a, ReleaseAgentLeg | Connect | WrapUpStarted)] == [
        ReleaseAgentLeg("c1", "a1"),
        WrapUpStarted("a1", "c1", "q", START + 50),
        Connect(-7, "c1", "a2", mine),
    ]
    assert (floor.state("a1"), floor.state("a2")) == ("wrap-up", "on-call")
    [transfer] = floor.journal("TRANSFER")
    assert (transfer.agent_id, transfer.data["kind"], transfer.data["talk"]) == (
        "a1", "attended", 20.0)
    [_, connect] = floor.journal("CONNECT")
    assert (connect.agent_id, connect.queue, connect.data["attended"]) == ("a2", mine, True)
    actions = floor.feed(CallerHungUp("c1"), at=START + 65)
    assert only(actions, WrapUpStarted) == [WrapUpStarted("a2", "c1", mine, START + 95)]
    [end] = floor.journal("COMPLETECALLER")
    assert (end.agent_id, end.data["talk"]) == ("a2", 45.0)
    floor.audit()
    # The figures: each agent's part is theirs; the queue offered and answered the call once.
    # The second agent's part is handled once their wrap-up is over (AHT counts no part
    # without its wrap-up).
    def folded() -> tuple[Figures, float]:
        figures = Figures()
        for row in floor.journal():
            figures.add(row.event, row.at, row.call_id, row.queue, row.agent_id, row.data)
        return figures, figures.calendar.bucket(START)

    figures, day = folded()
    first, second = figures.agent("a1", day), figures.agent("a2", day)
    assert (first.handled, first.talk, first.transfers) == (1, 20.0, 1)
    assert (second.answered, second.handled, second.talk) == (1, 0, 0.0)
    floor.advance(40)
    figures, day = folded()
    second = figures.agent("a2", day)
    assert (second.answered, second.handled, second.talk, second.wrapup) == (1, 1, 45.0, 30.0)
    queue = figures.queue("q", day)
    assert (queue.offered, queue.answered, queue.handled) == (1, 1, 1)
    assert figures.queues.keys() == {("q", day)}  # no queue named after the agent
