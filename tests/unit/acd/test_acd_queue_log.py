"""Journal rows written as Asterisk queue_log lines."""

from __future__ import annotations

from acd_floor import Floor

from pbx_stasis.acd import (
    AgentHungUp,
    AgentLogout,
    AgentPause,
    AgentUnpause,
    CallerHungUp,
    CallTransferred,
    JournalEvent,
    JournalRow,
    QueueConfig,
)
from pbx_stasis.acd.queue_log import journal_line, journal_lines, queue_log_line


def test_a_day_in_queue_log_format() -> None:
    floor = Floor(
        [QueueConfig("sales", wrapup=5, ring_timeout=10)], ["a1", "a2"], start=1_700_000_000.0
    )
    floor.ready("a1", "sales")
    floor.arrive("1700000000.1", "sales", caller="+33612345678")
    floor.advance(10)  # a1 does not answer: RINGNOANSWER, then a2 is not logged in yet
    floor.ready("a2", "sales")
    floor.advance(3.4)
    floor.answer("1700000000.1", "a2")
    floor.advance(62.6)
    floor.feed(AgentHungUp("1700000000.1", "a2"))
    floor.arrive("1700000000.2", "sales", caller="bob|evil\nline")
    floor.advance(7)
    floor.feed(CallerHungUp("1700000000.2"))
    floor.feed(AgentPause("a1", "lunch"))
    floor.feed(AgentUnpause("a1"))
    floor.feed(AgentLogout("a1"))
    floor.feed(AgentPause("a1", "home"))
    rows = [r for r in floor.log if isinstance(r, JournalRow)]
    assert list(journal_lines(rows, agent_label=lambda a: f"PJSIP/{a}")) == [
        "1700000000|NONE|sales|PJSIP/a1|ADDMEMBER|",
        "1700000000|1700000000.1|sales|NONE|ENTERQUEUE||+33612345678|1",
        "1700000010|1700000000.1|sales|PJSIP/a1|RINGNOANSWER|10000",
        "1700000010|NONE|sales|PJSIP/a2|ADDMEMBER|",
        "1700000013|1700000000.1|sales|PJSIP/a2|CONNECT|13||3",
        "1700000076|1700000000.1|sales|PJSIP/a2|COMPLETEAGENT|13|63|1",
        "1700000076|1700000000.2|sales|NONE|ENTERQUEUE||bob_evil line|1",
        "1700000083|1700000000.2|sales|PJSIP/a1|RINGCANCELED|7000",
        "1700000083|1700000000.2|sales|NONE|ABANDON|1|1|7",
        "1700000083|NONE|sales|PJSIP/a1|PAUSE|lunch",
        "1700000083|NONE|sales|PJSIP/a1|UNPAUSE|lunch",
        "1700000083|NONE|sales|PJSIP/a1|REMOVEMEMBER|",
        "1700000083|NONE|NONE|PJSIP/a1|PAUSEALL|home",
    ]


def test_extensions_are_only_written_on_request() -> None:
    floor = Floor([QueueConfig("q", wrapup=5)], ["a1"], start=1_700_000_000.0)
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.answer("c1", "a1")
    floor.feed(CallerHungUp("c1"))
    floor.run_until_quiet()
    rows = [r for r in floor.log if isinstance(r, JournalRow)]
    plain = list(journal_lines(rows))
    assert not any("OFFER" in line or "WRAPUP" in line for line in plain)
    extended = list(journal_lines(rows, extensions=True))
    assert "1700000000|c1|q|a1|OFFER|15" in extended
    assert "1700000000|c1|q|a1|WRAPUPSTART|5" in extended
    assert "1700000005|c1|q|a1|WRAPUPEND|5" in extended
    assert len(extended) == len(plain) + 3


def test_transfers_and_exits() -> None:
    floor = Floor([QueueConfig("q")], ["a1"], start=1_700_000_000.0)
    floor.ready("a1", "q")
    floor.arrive("c1", "q")
    floor.advance(4)
    floor.answer("c1", "a1")
    floor.advance(30)
    floor.feed(CallTransferred("c1", "2001", attended=True))
    floor.arrive("c2", "q")
    floor.answer("c2", "a1")
    floor.feed(CallTransferred("c2", "2002"))
    (attended, blind) = floor.journal(JournalEvent.TRANSFER)
    assert journal_line(attended) == "1700000034|c1|q|a1|ATTENDEDTRANSFER|BRIDGE|2001|4|30|1"
    assert journal_line(blind) == "1700000034|c2|q|a1|BLINDTRANSFER|2002||0|0|1"
    timeout = queue_log_line(
        "EXITWITHTIMEOUT", 12.9, "c3", "q", None, {"position": 2, "orig_position": 5, "wait": 300.4}
    )
    assert timeout == "12|c3|q|NONE|EXITWITHTIMEOUT|2|5|300"
    assert queue_log_line("JOINEMPTY", 1, "c4", "q", None, {}) is None
    assert (
        queue_log_line("JOINEMPTY", 1, "c4", "q", None, {}, extensions=True)
        == "1|c4|q|NONE|JOINEMPTY"
    )
