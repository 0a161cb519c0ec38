"""An agent's own outside call in the core: connected, it is the agent's call (on a call, held,
ended by either side, transferred), followed by a wrap-up; the figures count it as the agent's
outbound work, in no queue and not in the inbound figures."""

from __future__ import annotations

from acd_floor import START, Floor, only

from pbx_stasis.acd import (
    AgentConfig,
    AgentHungUp,
    CallEnd,
    CallEnded,
    CallerHungUp,
    CallHeld,
    QueueConfig,
    ReleaseAgentLeg,
    TransferToQueue,
    WrapUpStarted,
)
from pbx_stasis.acd.events import OutboundConnected, OutboundDialled
from pbx_stasis.acd.figures import Calendar, Figures


def dialling(wrapup: float = 20.0, agent_wrapup: float | None = None) -> Floor:
    floor = Floor([QueueConfig("q", wrapup=wrapup), QueueConfig("other")],
                  [AgentConfig("a1", "PJSIP/a1", wrapup=agent_wrapup), "a2"])
    floor.ready("a1", "q")
    floor.ready("a2", "other")
    floor.feed(OutboundDialled("o1", "a1", "+14155550199"))
    floor.feed(OutboundConnected("o1", "a1", "+14155550199", "q"), at=START + 5)
    return floor


def fold(floor: Floor) -> Figures:
    figures = Figures(calendar=Calendar(86400.0))
    for row in floor.journal():
        figures.add(row.event, row.at, row.call_id, row.queue, row.agent_id, row.data)
    return figures


def test_a_connected_outbound_call_is_the_agents_call_then_wrap_up_with_the_queues_time() -> None:
    floor = dialling()
    assert floor.state("a1") == "on-call"
    floor.arrive("c1", "q")
    assert floor.offered_to("c1") == []  # busy on their own call
    actions = floor.feed(CallerHungUp("o1"), at=START + 65)  # the far end hung up
    assert [a for a in actions if isinstance(a, ReleaseAgentLeg | CallEnded | WrapUpStarted)] == [
        ReleaseAgentLeg("o1", "a1"),
        CallEnded("o1", CallEnd.COMPLETED, "a1"),
        WrapUpStarted("a1", "o1", None, START + 65 + 20),
    ]
    assert floor.state("a1") == "wrap-up"
    [end] = floor.journal("COMPLETECALLER")
    assert end.queue is None and end.data == {"talk": 60.0, "outbound": True}
    floor.audit()


def test_the_agent_ends_it_and_their_own_wrap_up_time_applies() -> None:
    floor = dialling(agent_wrapup=5)
    actions = floor.feed(AgentHungUp("o1", "a1"), at=START + 15)
    assert only(actions, ReleaseAgentLeg) == []  # their leg is gone already
    assert only(actions, WrapUpStarted) == [WrapUpStarted("a1", "o1", None, START + 20)]
    [end] = floor.journal("COMPLETEAGENT")
    assert end.data["talk"] == 10.0 and end.queue is None
    floor.audit()


def test_hold_rows_name_no_queue() -> None:
    floor = dialling()
    floor.feed(CallHeld("o1"))
    [hold] = floor.journal("HOLD")
    assert hold.queue is None and hold.agent_id == "a1"


def test_transferred_to_a_queue_the_far_party_is_that_queues_caller() -> None:
    floor = dialling()
    floor.feed(TransferToQueue("o1", "other"), at=START + 25)
    [transfer] = floor.journal("TRANSFER")
    assert transfer.queue is None and transfer.data["outbound"] is True
    assert transfer.data["talk"] == 20.0
    assert floor.state("a1") == "wrap-up"
    [entered] = floor.journal("ENTERQUEUE", call_id="o1")
    assert entered.queue == "other"
    assert floor.offered_to("o1") == ["a2"]
    floor.answer("o1", "a2")
    floor.feed(CallerHungUp("o1"), at=START + 55)
    [end] = floor.journal("COMPLETECALLER")
    assert end.queue == "other" and "outbound" not in end.data
    floor.audit()


def test_outbound_figures_per_agent_and_none_in_a_queue() -> None:
    floor = dialling()
    floor.feed(CallerHungUp("o1"), at=START + 65)
    floor.advance(30)  # wrap-up over
    floor.feed(OutboundDialled("o2", "a1", "+14155550100"))  # nobody answered this one
    figures = fold(floor)
    day = figures.calendar.bucket(START)
    a1 = figures.agent("a1", day)
    assert (a1.outbound_placed, a1.outbound_connected, a1.outbound_talk) == (2, 1, 60.0)
    assert a1.outbound_wrapup == 20.0 and a1.average_outbound_talk == 60.0
    # Inbound figures untouched: no handled call, no talk, no AHT; busy while on it.
    assert (a1.handled, a1.talk, a1.wrapup, a1.average_handle) == (0, 0.0, 0.0, None)
    assert a1.busy == 80.0
    q = figures.queue("q", day)
    assert (q.handled, q.talk, q.wrapup, q.offered) == (0, 0.0, 0.0, 0)
