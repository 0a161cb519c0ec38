"""An agent's own outside call carried over a restart, as the core sees it: the agent is on that
call again (offered nothing), its end completes it with the talk from the first OUTCONNECT and a
wrap-up with the time of the queue it was done for, and the figures count one outbound call."""

from __future__ import annotations

from acd_floor import START, Floor

from pbx_stasis.acd import (
    AgentHungUp,
    CallEnd,
    CallEnded,
    CallerHungUp,
    JournalRow,
    QueueConfig,
    TalkAdopted,
    WrapUpStarted,
)
from pbx_stasis.acd.events import OutboundConnected, OutboundDialled
from pbx_stasis.acd.figures import Calendar, Figures

NUMBER = "+14155550199"


def floor() -> Floor:
    f = Floor([QueueConfig("q", wrapup=20.0)], ["a1", "a2"], start=START)
    f.ready("a1", "q")
    f.ready("a2", "q")
    return f


def before_the_crash() -> list[JournalRow]:
    """The app's life before kill -9: the agent dialled, the number answered at START + 5."""
    f = floor()
    f.feed(OutboundDialled("o1", "a1", NUMBER), at=START + 1)
    f.feed(OutboundConnected("o1", "a1", NUMBER, "q"), at=START + 5)
    return f.journal()


def adopted(at: float, *, ended: bool = False, queue: str = "q") -> TalkAdopted:
    return TalkAdopted("o1", queue, "a1", connected_at=START + 5, entered_at=START + 5,
                       caller=NUMBER, ended=ended, outbound=True)


def fold(rows: list[JournalRow]) -> Figures:
    figures = Figures(calendar=Calendar(86400.0))
    for row in rows:
        figures.add(row.event, row.at, row.call_id, row.queue, row.agent_id, row.data)
    return figures


def test_the_carried_over_outbound_call_is_the_agents_call_until_it_ends() -> None:
    first = before_the_crash()
    after = floor()  # the restarted app's core
    after.feed(adopted(START + 30), at=START + 30)
    assert after.state("a1") == "on-call"
    [row] = after.journal("ADOPTED")
    assert row.queue is None and row.data["outbound"] is True and row.data["for_queue"] == "q"
    after.arrive("c1", "q")
    assert after.offered_to("c1") == ["a2"]  # not to the agent on their own call
    after.answer("c1", "a2")
    ended = after.feed(CallerHungUp("o1"), at=START + 65)
    assert CallEnded("o1", CallEnd.COMPLETED, "a1") in ended
    assert WrapUpStarted("a1", "o1", None, START + 65 + 20) in ended  # the queue's wrap-up
    [end] = after.journal("COMPLETECALLER", call_id="o1")
    assert end.queue is None and end.data["talk"] == 60.0 and end.data["outbound"] is True
    after.advance(30)
    assert after.state("a1") == "available"
    after.audit()

    day = Calendar(86400.0).bucket(START)
    figures = fold(first + after.journal())
    a1 = figures.agent("a1", day)
    assert (a1.outbound_placed, a1.outbound_connected, a1.outbound_talk) == (1, 1, 60.0)
    assert a1.outbound_wrapup == 20.0 and (a1.handled, a1.talk) == (0, 0.0)
    q = figures.queue("q", day)
    assert q.handled == 0 and q.talk == 0.0  # an outbound call is no queue's work


def test_the_agent_ends_it_and_a_call_done_for_no_queue_is_carried_over_too() -> None:
    after = floor()
    after.feed(adopted(START + 30, queue=""), at=START + 30)
    assert after.state("a1") == "on-call"
    after.feed(AgentHungUp("o1", "a1"), at=START + 40)
    [end] = after.journal("COMPLETEAGENT", call_id="o1")
    assert end.data["talk"] == 35.0 and end.data["outbound"] is True


def test_one_that_ended_while_the_app_was_away_is_completed_without_wrap_up() -> None:
    after = floor()
    actions = after.feed(adopted(START + 30, ended=True), at=START + 30)
    [end] = after.journal("COMPLETECALLER", call_id="o1")
    assert end.data == {"talk": 25.0, "outbound": True, "ended_away": True}
    assert not [a for a in actions if isinstance(a, WrapUpStarted)]
    assert after.state("a1") == "available"
    after.audit()
