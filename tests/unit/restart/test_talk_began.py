"""When a talk carried over from Asterisk alone began (restart/adoption.py `talk_began`)."""

from __future__ import annotations

from datetime import datetime

from pbx_stasis.restart.adoption import talk_began

LEG = "2026-12-02T07:30:24.123+0000"  # ARI's creationtime
AT = datetime.strptime(LEG, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_the_agent_legs_creation_dates_the_talk_not_the_restart() -> None:
    """Before: `now`, so a talk 20 s old counted from the restart (talk 0 in the report)."""
    assert talk_began(LEG, AT - 10, AT + 20) == AT


def test_it_stays_between_the_callers_entry_and_now() -> None:
    assert talk_began(LEG, AT + 5, AT + 20) == AT + 5  # a clock step: never before the entry
    assert talk_began(LEG, AT - 10, AT - 1) == AT - 1  # never in the future
    assert talk_began("", AT - 10, AT + 20) == AT + 20  # unreadable: now, as before
