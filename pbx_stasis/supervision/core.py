"""What listen, whisper and barge mean in channels and bridges, and how to go from one to another.

Pure: no IO. A supervision session has two bridges: its own (the supervisor's phone plus a snoop
channel on the agent's leg) and the call's (caller and agent). The mode says where the
supervisor's channel sits and, in the session's bridge, which snoop it talks through:

    listen   session bridge, snoop spy=both whisper=none  (hears both, heard by nobody)
    whisper  session bridge, snoop spy=both whisper=out   (hears both, heard by the agent only)
    barge    the call's own mixing bridge, no snoop        (hears both, heard by both)

Barge joins the call's bridge rather than whispering both ways through a snoop: a snoop's "in"
whisper only reaches the caller while the agent's phone sends audio, so an agent muted (or
silent with DTX) would also silence the supervisor.

`plan(current, target)` lists the steps of a switch in an order that never leaves the
supervisor's channel outside a bridge and never leaves them without the call's audio: a new
snoop joins before the old one leaves (a few ms where both play, rather than a gap).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

SnoopDirection = Literal["none", "both", "out", "in"]


class Mode(enum.StrEnum):
    LISTEN = "listen"  # the supervisor hears both sides; nobody hears the supervisor
    WHISPER = "whisper"  # the agent hears the supervisor; the caller does not
    BARGE = "barge"  # both hear the supervisor


@dataclass(frozen=True, slots=True)
class SnoopSpec:
    """The directions of a snoop channel on the agent's leg (ARI `spy` and `whisper`).

    Directions are the agent channel's: `out` is what Asterisk sends to the agent's phone.
    """

    spy: SnoopDirection
    whisper: SnoopDirection


SNOOPS: dict[Mode, SnoopSpec] = {
    Mode.LISTEN: SnoopSpec(spy="both", whisper="none"),
    Mode.WHISPER: SnoopSpec(spy="both", whisper="out"),
}


@dataclass(frozen=True, slots=True)
class AddSnoop:
    """Create a snoop on the agent's leg with these directions, into the session's bridge."""

    spec: SnoopSpec


@dataclass(frozen=True, slots=True)
class JoinSession:
    """Put (or move) the supervisor's channel into the session's bridge."""


@dataclass(frozen=True, slots=True)
class JoinCall:
    """Move the supervisor's channel into the call's bridge."""


@dataclass(frozen=True, slots=True)
class DropSnoop:
    """Hang up the snoop the session used before this switch."""


Step = AddSnoop | JoinSession | JoinCall | DropSnoop


def plan(current: Mode | None, target: Mode) -> list[Step]:
    """The steps from `current` (None: the supervisor's phone just answered) to `target`."""
    if current is target:
        return []
    steps: list[Step] = []
    if target is Mode.BARGE:
        steps.append(JoinCall())
    else:
        steps.append(AddSnoop(SNOOPS[target]))
        if current is None or current is Mode.BARGE:
            steps.append(JoinSession())
    if current is not None and current is not Mode.BARGE:
        steps.append(DropSnoop())
    return steps


def parse_mode(value: str) -> Mode:
    """A mode from its name; ValueError names the known ones."""
    try:
        return Mode(value)
    except ValueError:
        known = ", ".join(mode.value for mode in Mode)
        raise ValueError(f"unknown supervision mode {value!r} (known: {known})") from None
