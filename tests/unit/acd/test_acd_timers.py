"""What time does: wrap-up, retry delay, autopause, max wait, empty queues, announcements."""

from __future__ import annotations

import pytest
from acd_floor import Floor, offered, only, states

from pbx_stasis.acd import (
    AgentConfig,
    AgentHungUp,
    AgentLogout,
    AgentPause,
    AgentUnpause,
    AgentUnregistered,
    Announce,
    CallArrived,
    CallerHungUp,
    EmptyPolicy,
    JournalEvent,
    LeaveEmpty,
    Overflow,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    RejectJoin,
    StartMoh,
    Tick,
    WrapUpDone,
)


def test_no_offer_during_wrap_up_and_it_ends_by_itself() -> None:
    floor = Floor([QueueConfig("q", wrapup=10)], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.advance(60)
    actions = floor.feed(AgentHungUp("c1", "a1"))
    assert states(actions) == [("a1", "wrap-up")]
    assert [r.event for r in floor.journal(call_id="c1")][-2:] == [
        JournalEvent.COMPLETEAGENT,
        JournalEvent.WRAPUPSTART,
    ]
    assert offered(floor.arrive("c2", "q")) == []
    assert floor.acd.next_deadline() == floor.now + 10
    assert offered(floor.advance(9.9)) == []
    actions = floor.advance(0.1)
    assert states(actions) == [("a1", "available"), ("a1", "ringing")]
    (end,) = floor.journal(JournalEvent.WRAPUPEND)
    assert (end.call_id, end.queue, end.data["seconds"], end.data["early"]) == (
        "c1",
        "q",
        10,
        False,
    )
    floor.audit()


def test_per_agent_wrap_up_overrides_the_queue() -> None:
    floor = Floor([QueueConfig("q", wrapup=30)], [AgentConfig("a1", "PJSIP/a1", wrapup=5)])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.feed(CallerHungUp("c1"))
    assert floor.acd.next_deadline() == floor.now + 5


def test_wrap_up_done_ends_it_early() -> None:
    floor = Floor([QueueConfig("q", wrapup=120)], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.feed(CallerHungUp("c1"))
    floor.arrive("c2", "q")
    floor.advance(7)
    assert offered(floor.feed(WrapUpDone("a1"))) == [("c2", "a1")]
    (end,) = floor.journal(JournalEvent.WRAPUPEND)
    assert (end.data["seconds"], end.data["early"]) == (7, True)
    assert floor.acd.next_deadline() == floor.now + 15  # only c2's ring timeout is left


def test_autopause_after_n_missed_offers_in_a_row() -> None:
    floor = Floor([QueueConfig("q", autopause_after=2, retry_delay=1)], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.advance(15)  # missed: no answer
    floor.advance(1)  # retry delay over, offered again
    actions = floor.reject("c1", "a1")  # missed again: declined
    assert states(actions) == [("a1", "paused")]
    view = floor.acd.agent("a1")
    assert view is not None and view.reason == "no answer"
    (pause,) = floor.journal(JournalEvent.PAUSE)
    assert (pause.queue, pause.data["reason"], pause.data["auto"]) == ("q", "no answer", True)
    assert offered(floor.advance(100)) == []
    assert offered(floor.feed(AgentUnpause("a1"))) == [("c1", "a1")]
    floor.audit()


def test_an_answer_resets_the_missed_count() -> None:
    floor = Floor([QueueConfig("q", autopause_after=2, retry_delay=0)], ["a1"])
    floor.ready("a1", "q")
    for i in range(3):
        floor.arrive(f"c{i}", "q")
        floor.reject(f"c{i}", "a1")
        floor.answer(f"c{i}", "a1")
        floor.feed(CallerHungUp(f"c{i}"))
    assert floor.state("a1") == "available"


def test_max_wait_overflows_to_another_queue() -> None:
    backup = QueueConfig("backup", moh_class="jazz")
    main = QueueConfig("main", max_wait=60, overflow=OverflowTarget(OverflowKind.QUEUE, "backup"))
    floor = Floor([main, backup], ["a1"])
    floor.arrive("c1", "main", priority=2, caller="555")
    assert floor.acd.next_deadline() == floor.now + 60
    actions = floor.advance(60)
    (timeout,) = floor.journal(JournalEvent.EXITWITHTIMEOUT)
    assert (timeout.queue, timeout.data["wait"], timeout.data["position"]) == ("main", 60, 1)
    assert only(actions, StartMoh) == [StartMoh("c1", "backup", "jazz")]
    assert floor.acd.waiting("backup") == ["c1"]
    assert offered(floor.ready("a1", "backup")) == [("c1", "a1")]
    floor.audit()


@pytest.mark.parametrize(
    "kind", [OverflowKind.FLOW, OverflowKind.VOICEMAIL, OverflowKind.MESSAGE_HANGUP]
)
def test_max_wait_hands_the_call_back_with_its_target(kind: OverflowKind) -> None:
    target = OverflowTarget(kind, "somewhere")
    floor = Floor([QueueConfig("q", max_wait=30, overflow=target)], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")  # offered to a1, who does not answer in time...
    actions = floor.advance(30)  # ...the ring timeout (15 s) passed, then the max wait
    assert only(actions, Overflow) == [Overflow("c1", "q", target)]
    assert floor.acd.call("c1") is None
    assert floor.pending == {}  # the second offer was cancelled on the way out


def test_the_calls_own_max_wait_wins_and_no_target_means_back_to_the_flow() -> None:
    floor = Floor([QueueConfig("q", max_wait=300)], [])
    floor.feed(CallArrived("c1", "q", max_wait=20))
    assert only(floor.advance(20), Overflow) == [Overflow("c1", "q", None)]


def test_an_overflow_loop_stops() -> None:
    a = QueueConfig(
        "a", join_empty=EmptyPolicy.NO_MEMBERS, overflow=OverflowTarget(OverflowKind.QUEUE, "b")
    )
    b = QueueConfig(
        "b", join_empty=EmptyPolicy.NO_MEMBERS, overflow=OverflowTarget(OverflowKind.QUEUE, "a")
    )
    floor = Floor([a, b], [])
    actions = floor.arrive("c1", "a")
    assert only(actions, RejectJoin) == [RejectJoin("c1", "b", "empty", None)]
    assert [r.event for r in floor.journal()] == [JournalEvent.JOINEMPTY, JournalEvent.JOINEMPTY]


@pytest.mark.parametrize(
    ("policy", "refused"),
    [
        (EmptyPolicy.NEVER, False),
        (EmptyPolicy.NO_MEMBERS, False),  # a1 is logged in, though paused
        (EmptyPolicy.NO_REACHABLE, True),
        (EmptyPolicy.NO_AVAILABLE, True),
    ],
)
def test_join_empty(policy: EmptyPolicy, refused: bool) -> None:
    floor = Floor([QueueConfig("q", join_empty=policy)], ["a1"])
    floor.ready("a1", "q")
    floor.feed(AgentPause("a1", "lunch"))
    actions = floor.arrive("c1", "q")
    if refused:
        assert only(actions, RejectJoin) == [RejectJoin("c1", "q", "empty", None)]
        assert [r.event for r in floor.journal(call_id="c1")] == [JournalEvent.JOINEMPTY]
    else:
        assert floor.acd.waiting("q") == ["c1"]


def test_no_available_counts_ringing_agents_as_available() -> None:
    floor = Floor([QueueConfig("q", join_empty=EmptyPolicy.NO_AVAILABLE)], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")  # a1 is ringing
    floor.arrive("c2", "q")
    assert floor.acd.waiting("q") == ["c1", "c2"]
    floor.answer("c1", "a1")
    assert only(floor.arrive("c3", "q"), RejectJoin) == [RejectJoin("c3", "q", "empty", None)]


def test_leave_when_empty_takes_out_waiting_callers_but_not_the_one_ringing() -> None:
    floor = Floor([QueueConfig("q", leave_empty=EmptyPolicy.NO_REACHABLE)], ["a1", "a2"])
    floor.ready("a1", "q")
    floor.ready("a2", "q")
    floor.arrive("talking", "q")
    floor.answer("talking", "a1")
    floor.arrive("ringing", "q")  # offered to a2
    floor.arrive("waiting", "q")
    floor.advance(5)
    actions = floor.feed(AgentUnregistered("a1"))  # a2 is still reachable
    assert only(actions, LeaveEmpty) == []
    actions = floor.feed(AgentLogout("a2"))  # cancels the ringing offer: both leave
    assert sorted(a.call_id for a in only(actions, LeaveEmpty)) == ["ringing", "waiting"]
    rows = floor.journal(JournalEvent.EXITEMPTY)
    assert sorted((r.call_id, r.data["wait"]) for r in rows) == [("ringing", 5), ("waiting", 5)]
    assert floor.acd.call("talking") is not None
    floor.audit()


def test_a_full_queue_refuses_callers() -> None:
    floor = Floor([QueueConfig("q", max_callers=1)], [])
    floor.arrive("c1", "q")
    assert only(floor.arrive("c2", "q"), RejectJoin) == [RejectJoin("c2", "q", "full", None)]
    assert only(floor.arrive("c3", "nowhere"), RejectJoin) == [
        RejectJoin("c3", "nowhere", "unknown-queue", None)
    ]


def test_announcements_of_position_and_estimated_wait() -> None:
    floor = Floor([QueueConfig("q", announce_every=30, wrapup=10)], ["a1", "a2"])
    floor.arrive("c1", "q")
    floor.arrive("c2", "q")
    # No history yet: position only.
    assert only(floor.advance(30), Announce) == [
        Announce("c1", "q", 1, None),
        Announce("c2", "q", 2, None),
    ]
    floor.ready("a1", "q")
    floor.answer("c1", "a1")
    floor.advance(50)
    floor.feed(CallerHungUp("c1"))  # handle time 50 + 10 wrap-up = 60
    floor.ready("a2", "q")  # a2 is offered c2, who is not announced while ringing
    floor.arrive("c3", "q")
    actions = floor.run_until_quiet(limit=30)
    # c3 is 2nd (c2 ringing ahead); 2 agents: 60 s x 2 / 2 = 60 s.
    assert Announce("c3", "q", 2, 60.0) in only(actions, Announce)
    assert all(a.call_id != "c2" for a in only(actions, Announce))


def test_coarse_ticks_decide_as_fine_ones_would() -> None:
    """Deadlines fire at their own time, in order, whatever the tick rate."""

    def story(step: float) -> list[object]:
        queue = QueueConfig("q", wrapup=10, max_wait=25, ring_timeout=5, retry_delay=3)
        floor = Floor([queue], ["a1", "a2"])
        end = floor.now + 100
        floor.ready("a1", "q")
        floor.arrive("c1", "q")
        floor.answer("c1", "a1")
        floor.feed(CallerHungUp("c1"))
        floor.arrive("c2", "q")
        floor.ready("a2", "q")
        while floor.now < end:
            floor.feed(Tick(), min(end, floor.now + step))
        return list(floor.log)

    fine = story(0.5)
    assert any(isinstance(a, Overflow) for a in fine)  # the story does reach its max wait
    assert story(7.0) == fine
    assert story(100.0) == fine
