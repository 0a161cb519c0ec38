"""The report fold: queue, agent and hour figures of a period, from journal rows alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pbx_stasis.reports.core import fold

DAY = datetime(2026, 11, 23, tzinfo=UTC)
START, END = DAY.timestamp(), (DAY + timedelta(days=1)).timestamp()
ANN, BOB = 7, 8


@dataclass(frozen=True)
class R:
    minute: float  # minutes after midnight UTC
    event: str
    call_id: str | None = None
    queue: str | None = "support"
    agent_user_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        return DAY + timedelta(minutes=self.minute)


# 09:00-10:00 on the support line (service level 20 s) and one call on sales.
ROWS = [
    R(-5, "ENTERQUEUE", "old"),  # the day before: not in the period
    R(9 * 60 + 0, "ENTERQUEUE", "c1"),
    R(9 * 60 + 0.1, "OFFER", "c1", agent_user_id=ANN),
    R(9 * 60 + 0.2, "RINGNOANSWER", "c1", agent_user_id=ANN),
    R(9 * 60 + 0.2, "OFFER", "c1", agent_user_id=BOB),
    R(9 * 60 + 0.2, "CONNECT", "c1", agent_user_id=BOB, data={"wait": 12.0}),
    R(9 * 60 + 1.2, "COMPLETECALLER", "c1", agent_user_id=BOB, data={"wait": 12.0, "talk": 60.0}),
    R(9 * 60 + 1.7, "WRAPUPEND", "c1", agent_user_id=BOB, data={"seconds": 30.0, "early": False}),
    R(9 * 60 + 5, "ENTERQUEUE", "c2"),
    R(9 * 60 + 5.1, "ABANDON", "c2", data={"wait": 5.0}),  # short: not against the agents
    R(9 * 60 + 10, "ENTERQUEUE", "c3"),
    R(9 * 60 + 10.5, "OFFER", "c3", agent_user_id=ANN),
    R(9 * 60 + 10.5, "CONNECT", "c3", agent_user_id=ANN, data={"wait": 30.0}),
    R(9 * 60 + 11.2, "TRANSFER", "c3", agent_user_id=ANN, data={"wait": 30.0, "talk": 40.0}),
    R(9 * 60 + 20, "ENTERQUEUE", "c4"),
    R(9 * 60 + 30, "EXITWITHTIMEOUT", "c4", data={"wait": 600.0}),
    R(10 * 60 + 5, "ENTERQUEUE", "c5", queue="sales"),
    R(10 * 60 + 5.5, "ABANDON", "c5", queue="sales", data={"wait": 30.0}),
    # Ann pauses once, written for each of her two queues; Bob is still paused at the end.
    R(12 * 60, "PAUSE", queue="support", agent_user_id=ANN, data={"reason": "lunch"}),
    R(12 * 60, "PAUSE", queue="sales", agent_user_id=ANN, data={"reason": "lunch"}),
    R(12 * 60 + 30, "UNPAUSE", queue="support", agent_user_id=ANN),
    R(12 * 60 + 30, "UNPAUSE", queue="sales", agent_user_id=ANN),
    R(23 * 60 + 50, "PAUSE", queue=None, agent_user_id=BOB),
]


def test_queue_figures() -> None:
    report = fold(ROWS, START, END, {"support": 20.0})
    support = report.queues["support"].summary()
    assert {k: support[k] for k in ("offered", "answered", "abandoned", "timed_out")} == {
        "offered": 4, "answered": 2, "abandoned": 1, "timed_out": 1,
    }
    # c1 answered within 20 s, c3 after; c4 left late, c2 left early (not counted)
    assert support["service_level"] == pytest.approx(1 / 3)
    assert support["average_answer_wait"] == 21.0
    assert support["average_abandon_wait"] == 5.0
    assert support["longest_wait"] == 600.0
    assert (support["talk"], support["average_talk"]) == (100.0, 50.0)
    assert support["average_handle"] == 65.0  # (100 s talk + 30 s wrap-up) / 2
    sales = report.queues["sales"].summary()
    assert (sales["offered"], sales["abandoned"], sales["service_level_seconds"]) == (1, 1, 20.0)
    assert sales["service_level"] == 0.0  # left after 30 s: counts, and nobody was answered


def test_agent_figures_count_a_pause_once_and_an_open_one_until_the_end() -> None:
    agents = {a: f.summary() for a, f in fold(ROWS, START, END).agents.items()}
    assert agents[ANN] == {
        "agent_user_id": ANN, "offered": 2, "answered": 1, "missed": 1, "transfers": 1,
        "talk": 40.0, "average_talk": 40.0, "wrapup": 0.0, "average_handle": 40.0,
        "paused": 30 * 60.0, "occupancy": 1.0,  # never logged in: no time available
        "outbound_placed": 0, "outbound_connected": 0, "outbound_talk": 0.0,
        "average_outbound_talk": None,
    }
    assert agents[BOB] == {
        "agent_user_id": BOB, "offered": 1, "answered": 1, "missed": 0, "transfers": 0,
        "talk": 60.0, "average_talk": 60.0, "wrapup": 30.0, "average_handle": 90.0,
        "paused": 10 * 60.0, "occupancy": 1.0,
        "outbound_placed": 0, "outbound_connected": 0, "outbound_talk": 0.0,
        "average_outbound_talk": None,
    }
    # a report asked for at 23:55 counts Bob's pause until then
    at_2355 = (DAY + timedelta(hours=23, minutes=55)).timestamp()
    assert fold(ROWS, START, at_2355).agents[BOB].paused == 5 * 60.0


def test_hours_days_and_an_empty_period() -> None:
    hours = fold(ROWS, START, END).hours
    assert [(h.hour, h.offered, h.answered, h.abandoned) for h in hours if h.offered] == [
        (9, 4, 2, 1), (10, 1, 0, 1),
    ]
    days = fold(ROWS, START - 86400, END).days
    assert [d.summary() for d in days.values()] == [
        {"day": "2026-11-22", "offered": 1, "answered": 0, "abandoned": 0, "service_level": None},
        {"day": "2026-11-23", "offered": 5, "answered": 2, "abandoned": 2,
         "service_level": pytest.approx(1 / 4)},  # 1 within; 1 late; c4 and c5 left late
    ]
    empty = fold(ROWS, END, END + 86400)
    assert (empty.queues, sum(h.offered for h in empty.hours)) == ({}, 0)
    assert empty.days == {}
    # No call, but Bob's pause of 23:50 runs through the next day: the rows before a period
    # say who was paused (and logged in) when it began.
    assert {a: f.paused for a, f in empty.agents.items()} == {BOB: 86400.0}
    assert fold([], START, END).queues == {}
