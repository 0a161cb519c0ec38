"""Queued callbacks in the core: a callback keeps the caller's place (their arrival), reserves
one agent when it reaches the front, has the customer dialled, and is tried again per the
queue's policy when nobody answers. A callback is no abandon."""

from __future__ import annotations

from acd_floor import START, Floor

from pbx_stasis.acd import (
    AgentHungUp,
    CallbackAnswered,
    CallbackCancelled,
    CallbackFailed,
    CallbackQueued,
    CallbackRequested,
    CallEnd,
    CallEnded,
    CallerHungUp,
    DialCallback,
    JournalEvent,
    Offer,
    QueueConfig,
    ReleaseAgentLeg,
    Strategy,
)
from pbx_stasis.acd.stats import Stats

E = JournalEvent


def floor_with_waiting(**queue: object) -> Floor:
    """c1 arrived first, then c2; nobody is logged in yet."""
    floor = Floor([QueueConfig("q", **queue)], ["a1", "a2"])  # type: ignore[arg-type]
    floor.arrive("c1", "q", caller="+15550001")
    floor.feed(CallerHungUp("nobody"), at=START + 5)
    floor.arrive("c2", "q", caller="+15550002")
    return floor


def test_a_callback_keeps_the_callers_place_before_a_later_caller() -> None:
    floor = floor_with_waiting()
    actions = floor.feed(CallbackRequested("c1", "cb1", "+15550001"), at=START + 10)
    assert CallEnded("c1", CallEnd.CALLBACK) in actions
    assert floor.acd.waiting("q") == ["cb1", "c2"]
    view = floor.acd.call("cb1")
    assert view is not None and view.entered_at == START and view.position == 1
    req = floor.journal(E.CALLBACKREQ)
    assert [(r.call_id, r.data["callback"], r.data["position"]) for r in req] == [
        ("c1", "cb1", 1)
    ]
    assert floor.journal(E.ABANDON) == []  # a callback is no abandon
    # The first agent free is offered the callback, showing whom they are about to call.
    floor.ready("a1", "q")
    offer = floor.offer("cb1", "a1")
    assert offer.callback == "+15550001"
    assert floor.offered_call("a1") == "cb1"
    assert floor.acd.audit() == []


def test_the_agent_is_reserved_then_the_customer_is_dialled_and_talks() -> None:
    floor = floor_with_waiting(wrapup=10)
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"))
    floor.ready("a1", "q")
    actions = floor.answer("cb1", "a1")
    dial = [a for a in actions if isinstance(a, DialCallback)]
    assert [(d.call_id, d.agent_id, d.number, d.attempt) for d in dial] == [
        ("cb1", "a1", "+15550001", 1)
    ]
    assert floor.acd.agent("a1").calls == frozenset({"cb1"})  # type: ignore[union-attr]
    assert floor.acd.waiting("q") == ["c2"]  # c2 is not given to the reserved agent
    floor.feed(CallbackAnswered("cb1"), at=START + 30)
    assert [r.event for r in floor.journal(call_id="cb1")][-2:] == [
        E.CALLBACKDIAL, E.CALLBACKCONNECT
    ]
    actions = floor.feed(CallerHungUp("cb1"), at=START + 90)
    assert CallEnded("cb1", CallEnd.COMPLETED, "a1") in actions
    complete = floor.journal(E.COMPLETECALLER, call_id="cb1")
    assert complete[0].data["talk"] == 60.0
    assert floor.acd.audit() == []


def test_busy_or_no_answer_is_retried_after_the_delay_in_its_place() -> None:
    floor = floor_with_waiting(callback_attempts=2, callback_retry_delay=120)
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"))
    floor.ready("a1", "q")
    floor.answer("cb1", "a1")
    actions = floor.feed(CallbackFailed("cb1", "busy"), at=START + 20)
    assert ReleaseAgentLeg("cb1", "a1") in actions
    fail = floor.journal(E.CALLBACKFAIL)[-1]
    assert (fail.data["attempt"], fail.data["final"], fail.data["retry_at"]) == (
        1, False, START + 140
    )
    # The agent is free at once: the later caller is offered while the callback rests.
    assert floor.offered_call("a1") == "c2"
    assert floor.acd.waiting("q") == ["cb1", "c2"]  # still first in line
    floor.feed(CallerHungUp("c2"))
    floor.feed(CallbackFailed("cb1", "busy"))  # not dialling: nothing happens
    floor.advance(100)
    assert floor.offered_call("a1") is None  # resting until START + 140
    floor.advance(25)
    assert floor.offered_call("a1") == "cb1"
    floor.answer("cb1", "a1")
    actions = floor.feed(CallbackFailed("cb1", "no_answer"))
    assert CallEnded("cb1", CallEnd.CALLBACK_FAILED, "a1") in actions
    assert floor.journal(E.CALLBACKFAIL)[-1].data["final"] is True
    assert floor.acd.call("cb1") is None
    assert floor.acd.audit() == []


def test_a_refused_number_is_not_retried() -> None:
    floor = floor_with_waiting(callback_attempts=3)
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"))
    floor.ready("a1", "q")
    floor.answer("cb1", "a1")
    actions = floor.feed(CallbackFailed("cb1", "not_allowed", final=True))
    assert CallEnded("cb1", CallEnd.CALLBACK_FAILED, "a1") in actions


def test_the_agent_leaving_before_the_answer_spends_no_attempt() -> None:
    floor = floor_with_waiting(callback_attempts=1, callback_retry_delay=0)
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"))
    floor.ready("a1", "q")
    floor.answer("cb1", "a1")
    floor.feed(AgentHungUp("cb1", "a1"))
    assert floor.acd.waiting("q")[0] == "cb1"
    assert floor.journal(E.COMPLETEAGENT) == []
    assert floor.acd.audit() == []


def test_one_agent_only_is_rung_for_a_callback_even_in_a_ringall_queue() -> None:
    floor = Floor([QueueConfig("q", strategy=Strategy.RINGALL)], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.ready("a2", "q")
    actions = floor.feed(CallbackQueued("cb1", "q", "+15550009", entered_at=START))
    assert len([a for a in actions if isinstance(a, Offer)]) == 1


def test_a_scheduled_or_api_callback_joins_by_its_time_and_a_restored_one_rests() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.arrive("c1", "q")
    floor.feed(CallbackQueued("cb0", "q", "+15550009", entered_at=START - 60, attempts=1,
                              not_before=START + 50, adopted=True))
    assert floor.acd.waiting("q") == ["cb0", "c1"]
    queued = floor.journal(E.CALLBACKQUEUED)[0]
    assert (queued.data["adopted"], queued.data["attempts"]) == (True, 1)
    floor.ready("a1", "q")
    assert floor.offered_call("a1") == "c1"  # cb0 rests until START + 50


def test_a_callback_ignores_max_wait_and_leave_empty_and_can_be_cancelled() -> None:
    floor = Floor([QueueConfig("q", max_wait=30)])
    floor.arrive("c1", "q")
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"))
    floor.advance(3600)
    assert floor.acd.waiting("q") == ["cb1"]
    actions = floor.feed(CallbackCancelled("cb1"))
    assert CallEnded("cb1", CallEnd.CALLBACK_CANCELLED) in actions
    assert floor.acd.waiting("q") == []
    assert [r.event for r in floor.journal(call_id="cb1")] == [E.CALLBACKCANCEL]


def test_a_request_for_a_caller_no_longer_waiting_changes_nothing() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    assert floor.feed(CallbackRequested("c1", "cb1", "+15550001")) == []
    assert floor.acd.call("cb1") is None


def test_the_wallboard_shows_callbacks_as_waiting_work_and_counts_no_abandon() -> None:
    floor = floor_with_waiting()
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"), at=START + 10)
    stats = Stats.for_queues([QueueConfig("q")])
    stats.apply_all(floor.log)
    snap = stats.queue("q", floor.now)
    assert (snap.waiting, snap.callbacks, snap.abandoned, snap.left) == (1, 1, 0, 0)
    assert (snap.figures.offered, snap.figures.callbacks) == (2, 1)
    floor.ready("a1", "q")
    floor.answer("cb1", "a1")
    floor.feed(CallbackAnswered("cb1"))
    stats = Stats.for_queues([QueueConfig("q")])
    stats.apply_all(floor.log)
    snap = stats.queue("q", floor.now)
    assert (snap.callbacks, snap.figures.callbacks_connected, snap.answered) == (0, 1, 0)
    a1 = stats.agent("a1")
    assert a1 is not None and a1.state.value == "on-call"


def test_queue_log_lines_of_a_callback() -> None:
    from pbx_stasis.acd.queue_log import journal_lines

    floor = floor_with_waiting(callback_attempts=1)
    floor.feed(CallbackRequested("c1", "cb1", "+15550001"), at=START + 10)
    floor.ready("a1", "q")
    floor.answer("cb1", "a1")
    floor.feed(CallbackFailed("cb1", "busy"))
    lines = [line.split("|", 3)[3] for line in journal_lines(
        floor.journal(E.CALLBACKREQ, E.CALLBACKDIAL, E.CALLBACKFAIL), extensions=True)]
    assert lines == ["NONE|CALLBACKREQ|+15550001|1|10", "a1|CALLBACKDIAL|+15550001|1|10",
                     "a1|CALLBACKFAIL|busy|1|final"]
