"""The journal rows of a call's story carry the figures reports need."""

from __future__ import annotations

from acd_floor import Floor, only

from pbx_stasis.acd import (
    AgentHungUp,
    AgentLogout,
    AgentPause,
    AgentUnpause,
    CallerHungUp,
    CallHeld,
    CallResumed,
    CallTransferred,
    CancelOffer,
    JournalEvent,
    JournalRow,
    QueueConfig,
)


def rows(floor: Floor, call_id: str) -> list[tuple[str, str | None, dict[str, object]]]:
    return [(r.event.value, r.agent_id, dict(r.data)) for r in floor.journal(call_id=call_id)]


def test_abandon_while_ringing_has_the_right_wait_and_positions() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.arrive("ahead", "q", caller="111")
    floor.advance(3)
    floor.arrive("c1", "q", caller="222")
    floor.advance(2)
    floor.ready("a1", "q")  # offered "ahead"
    floor.answer("ahead", "a1")  # c1 moves up to position 1
    floor.advance(40)
    floor.ready("a1", "q")
    actions = floor.feed(CallerHungUp("c1"))
    assert rows(floor, "c1") == [
        ("ENTERQUEUE", None, {"caller": "222", "priority": 0, "position": 2}),
        ("ABANDON", None, {"position": 1, "orig_position": 2, "wait": 42.0}),
    ]
    assert only(actions, CancelOffer) == []
    (row,) = floor.journal(JournalEvent.ABANDON)
    assert (row.at, row.queue) == (floor.now, "q")


def test_abandon_while_ringing_cancels_the_offer() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.advance(4.5)
    actions = floor.feed(CallerHungUp("c1"))
    (cancel,) = only(actions, CancelOffer)
    assert (cancel.agent_id, cancel.reason) == ("a1", "caller hung up")
    assert [e for e, _, _ in rows(floor, "c1")] == [
        "ENTERQUEUE",
        "OFFER",
        "RINGCANCELED",
        "ABANDON",
    ]
    assert rows(floor, "c1")[2][2] == {"offer_id": 1, "ring_ms": 4500, "reason": "caller hung up"}
    assert floor.state("a1") == "available"


def test_a_completed_call_has_wait_ring_talk_and_positions() -> None:
    floor = Floor([QueueConfig("q", wrapup=5)], ["a1"])
    floor.arrive("c1", "q", caller="555")
    floor.advance(10)
    floor.ready("a1", "q")
    floor.advance(2.5)
    floor.answer("c1", "a1")
    floor.advance(100)
    floor.feed(AgentHungUp("c1", "a1"))
    floor.run_until_quiet()
    assert rows(floor, "c1") == [
        ("ENTERQUEUE", None, {"caller": "555", "priority": 0, "position": 1}),
        ("OFFER", "a1", {"offer_id": 1, "timeout": 15.0}),
        (
            "CONNECT",
            "a1",
            {"offer_id": 1, "wait": 12.5, "ring": 2.5, "position": 1, "orig_position": 1},
        ),
        ("COMPLETEAGENT", "a1", {"wait": 12.5, "talk": 100.0, "orig_position": 1}),
        ("WRAPUPSTART", "a1", {"seconds": 5.0}),
        ("WRAPUPEND", "a1", {"seconds": 5.0, "early": False}),
    ]


def test_caller_hangup_on_a_connected_call_is_completecaller() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.advance(8)
    floor.feed(CallerHungUp("c1"))
    floor.feed(AgentHungUp("c1", "a1"))  # the other leg going down afterwards changes nothing
    assert [e for e, _, _ in rows(floor, "c1")][-1] == "COMPLETECALLER"
    assert len(floor.journal(JournalEvent.COMPLETECALLER, JournalEvent.COMPLETEAGENT)) == 1


def test_hold_and_transfer_rows() -> None:
    floor = Floor([QueueConfig("q")], ["a1"])
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.feed(CallHeld("c1"))
    floor.feed(CallHeld("c1"))  # already on hold: no second row
    floor.feed(CallResumed("c1"))
    floor.advance(20)
    floor.feed(CallTransferred("c1", "5551234", attended=True))
    assert [e for e, _, _ in rows(floor, "c1")][-3:] == ["HOLD", "UNHOLD", "TRANSFER"]
    assert rows(floor, "c1")[-1][2] == {
        "target": "5551234",
        "kind": "attended",
        "wait": 0.0,
        "talk": 20.0,
        "orig_position": 1,
    }
    assert floor.acd.call("c1") is None
    assert floor.state("a1") == "available"


def test_agent_rows_are_written_per_queue() -> None:
    floor = Floor([QueueConfig("x"), QueueConfig("y")], ["a1"])
    floor.ready("a1", "x", "y")
    floor.feed(AgentPause("a1", "lunch"))
    floor.feed(AgentUnpause("a1"))
    floor.feed(AgentLogout("a1", ["x"]))
    floor.feed(AgentLogout("a1"))
    floor.feed(AgentPause("a1", "gone home"))
    got = [
        (r.event.value, r.queue, dict(r.data))
        for r in floor.log
        if isinstance(r, JournalRow) and r.agent_id == "a1"
    ]
    assert got == [
        ("LOGIN", "x", {}),
        ("LOGIN", "y", {}),
        ("PAUSE", "x", {"reason": "lunch", "auto": False}),
        ("PAUSE", "y", {"reason": "lunch", "auto": False}),
        ("UNPAUSE", "x", {"reason": "lunch"}),
        ("UNPAUSE", "y", {"reason": "lunch"}),
        ("LOGOUT", "x", {}),
        ("LOGOUT", "y", {}),
        ("PAUSE", None, {"reason": "gone home", "auto": False}),
    ]
