"""The supervision plan, checked on a model of the two bridges: who hears whom after any switch,
and at every step of a switch (never out of a bridge, never deaf, never overheard by mistake)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.supervision.core import (
    SNOOPS,
    AddSnoop,
    DropSnoop,
    JoinCall,
    JoinSession,
    Mode,
    SnoopSpec,
    Step,
    parse_mode,
    plan,
)


@dataclass
class Bridges:
    """Where the supervisor's channel is, and the snoops in the session's bridge (oldest first)."""

    supervisor: str | None = None  # None, "session" or "call"
    snoops: list[SnoopSpec] = field(default_factory=list)

    def apply(self, step: Step) -> None:
        if isinstance(step, AddSnoop):
            self.snoops.append(step.spec)
        elif isinstance(step, JoinSession):
            self.supervisor = "session"
        elif isinstance(step, JoinCall):
            self.supervisor = "call"
        elif isinstance(step, DropSnoop):
            self.snoops.pop(0)

    def supervisor_hears_call(self) -> bool:
        if self.supervisor == "call":
            return True
        return self.supervisor == "session" and any(s.spy == "both" for s in self.snoops)

    def agent_hears_supervisor(self) -> bool:
        if self.supervisor == "call":
            return True
        return self.supervisor == "session" and any(
            s.whisper in ("out", "both") for s in self.snoops
        )

    def caller_hears_supervisor(self) -> bool:
        if self.supervisor == "call":
            return True
        return self.supervisor == "session" and any(
            s.whisper in ("in", "both") for s in self.snoops
        )


EXPECTED = {  # mode -> (agent hears the supervisor, caller hears the supervisor)
    Mode.LISTEN: (False, False),
    Mode.WHISPER: (True, False),
    Mode.BARGE: (True, True),
}


def test_each_mode_from_the_first_answer() -> None:
    assert plan(None, Mode.LISTEN) == [AddSnoop(SNOOPS[Mode.LISTEN]), JoinSession()]
    assert plan(None, Mode.WHISPER) == [AddSnoop(SnoopSpec("both", "out")), JoinSession()]
    assert plan(None, Mode.BARGE) == [JoinCall()]


def test_a_switch_adds_the_new_snoop_before_dropping_the_old() -> None:
    assert plan(Mode.LISTEN, Mode.WHISPER) == [AddSnoop(SNOOPS[Mode.WHISPER]), DropSnoop()]
    assert plan(Mode.WHISPER, Mode.BARGE) == [JoinCall(), DropSnoop()]
    assert plan(Mode.BARGE, Mode.LISTEN) == [AddSnoop(SNOOPS[Mode.LISTEN]), JoinSession()]
    assert plan(Mode.BARGE, Mode.BARGE) == []


def test_modes_by_name() -> None:
    assert parse_mode("whisper") is Mode.WHISPER
    with pytest.raises(ValueError, match="known: listen, whisper, barge"):
        parse_mode("shout")


@given(st.lists(st.sampled_from(list(Mode)), min_size=1, max_size=12))
def test_any_sequence_of_switches_ends_in_the_asked_mode(modes: list[Mode]) -> None:
    bridges = Bridges()
    current: Mode | None = None
    for target in modes:
        steps = plan(current, target)
        for step in steps:
            bridges.apply(step)
            if current is not None:
                # Switching keeps the supervisor in a bridge, hearing the call, at every step.
                assert bridges.supervisor is not None
                assert bridges.supervisor_hears_call()
                # Between two modes the caller must not hear, not even half-way.
                if Mode.BARGE not in (current, target):
                    assert not bridges.caller_hears_supervisor()
        current = target
        assert (bridges.agent_hears_supervisor(), bridges.caller_hears_supervisor()) == (
            EXPECTED[target]
        )
        assert bridges.supervisor_hears_call()
        # At rest: one snoop in the session's bridge, or none in barge.
        assert len(bridges.snoops) == (0 if target is Mode.BARGE else 1)
        assert bridges.supervisor == ("call" if target is Mode.BARGE else "session")
