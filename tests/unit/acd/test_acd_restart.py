"""A restart of the app, as the core sees it: a talk carried over is the agent's call again (never
a pause), a talk that ended while the app was away is completed, a waiting caller's stay goes
on (ADOPTED, not a second ENTERQUEUE), and the report of a period with a restart equals the one
without."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from pbx_stasis.acd import (
    Acd,
    AcdInput,
    Action,
    AgentConfig,
    AgentLogin,
    AgentPause,
    AgentRegistered,
    AgentState,
    AgentUnpause,
    CallArrived,
    CallAway,
    CallEnd,
    CallEnded,
    CallerHungUp,
    JournalRow,
    Offer,
    OfferAnswered,
    QueueConfig,
    TalkAdopted,
)
from pbx_stasis.acd.stats import Stats
from pbx_stasis.reports.core import fold

T0 = 1_800_000_000.0
QUEUES = [QueueConfig("q", strategy="linear", wrapup=0)]  # type: ignore[arg-type]
AGENTS = [AgentConfig("a1", "PJSIP/a1"), AgentConfig("a2", "PJSIP/a2")]
USERS = {"a1": 1, "a2": 2}


def rows(actions: list[Action]) -> list[JournalRow]:
    return [a for a in actions if isinstance(a, JournalRow)]


def events(actions: list[Action]) -> list[str]:
    return [str(r.event) for r in rows(actions)]


def fresh(at: float) -> Acd:
    acd = Acd(QUEUES, AGENTS, start=at)
    for agent in ("a1", "a2"):
        acd.feed(AgentRegistered(agent), at)
        acd.feed(AgentLogin(agent, ["q"]), at)
    return acd


def test_a_carried_over_talk_puts_the_agent_on_a_call_and_completes_from_its_connect() -> None:
    acd = fresh(T0 + 100)
    adopted = acd.feed(TalkAdopted("c1", "q", "a1", connected_at=T0 + 12, entered_at=T0 + 10,
                                   orig_position=1), T0 + 100)
    assert events(adopted) == ["ADOPTED"]  # no PAUSE: the agent is on a call, not paused
    [row] = rows(adopted)
    assert (row.agent_id, row.data["action"]) == ("a1", "talk")
    view = acd.agent("a1")
    assert view is not None and view.state is AgentState.ON_CALL and view.paused is None
    # a new caller goes to the other agent
    assert any(isinstance(a, Offer) and a.agent_id == "a2"
               for a in acd.feed(CallArrived("c2", "q"), T0 + 101))

    ended = acd.feed(CallerHungUp("c1"), T0 + 110)
    [complete] = [r for r in rows(ended) if r.event == "COMPLETECALLER"]
    assert complete.data["talk"] == 98.0 and complete.data["wait"] == 2.0
    assert CallEnded("c1", CallEnd.COMPLETED, "a1") in ended
    view = acd.agent("a1")
    assert view is not None and view.state is AgentState.AVAILABLE


def test_a_carried_over_talk_whose_connect_was_lost_gets_its_connect_once() -> None:
    """The dead controller connected the caller but its CONNECT row was never written (kill -9
    before the writer's flush): the talk, found in Asterisk's bridges, is journaled CONNECT at
    the moment it began, with the wait from the entry, then ADOPTED; one CONNECT only."""
    acd = fresh(T0 + 100)
    adopted = acd.feed(TalkAdopted("c1", "q", "a1", connected_at=T0 + 30, entered_at=T0 + 10,
                                   connect_lost=True), T0 + 100)
    assert events(adopted) == ["CONNECT", "ADOPTED"]
    connect = rows(adopted)[0]
    assert (connect.at, connect.queue, connect.agent_id) == (T0 + 30, "q", "a1")
    assert connect.data["wait"] == 20.0 and connect.data["restored"] is True
    ended = acd.feed(CallerHungUp("c1"), T0 + 110)
    assert "CONNECT" not in events(ended)
    [complete] = [r for r in rows(ended) if r.event == "COMPLETECALLER"]
    assert complete.data["talk"] == 80.0 and complete.data["wait"] == 20.0
    # a talk whose CONNECT is in the journal: none written again
    journaled = fresh(T0 + 100).feed(TalkAdopted("c2", "q", "a2", T0 + 30, T0 + 10), T0 + 100)
    assert events(journaled) == ["ADOPTED"]


def test_a_talk_that_ended_while_the_app_was_away_is_completed_and_frees_the_agent() -> None:
    acd = fresh(T0 + 100)
    ended = acd.feed(TalkAdopted("c1", "q", "a1", T0 + 12, T0 + 10, ended=True), T0 + 100)
    [complete] = rows(ended)
    assert complete.event == "COMPLETECALLER" and complete.data["ended_away"] is True
    assert complete.data["talk"] == 88.0
    assert acd.call("c1") is None
    view = acd.agent("a1")
    assert view is not None and view.state is AgentState.AVAILABLE  # no wrap-up, no pause
    assert acd.audit() == []


def test_a_waiting_caller_put_back_is_adopted_not_offered_again() -> None:
    acd = Acd(QUEUES, AGENTS, start=T0 + 100)
    # Put back even though nobody can take calls yet (join_empty refuses new callers).
    back = acd.feed(CallArrived("c2", "q", entered_at=T0 + 20, adopted=True), T0 + 100)
    assert events(back) == ["ADOPTED"]
    [row] = rows(back)
    assert (row.data["action"], row.data["wait"], row.queue) == ("queue", 80.0, "q")
    acd.feed(AgentRegistered("a1"), T0 + 101)
    offered = acd.feed(AgentLogin("a1", ["q"]), T0 + 101)
    [offer] = [a for a in offered if isinstance(a, Offer)]
    answered = acd.feed(OfferAnswered(offer.offer_id, "c2", "a1"), T0 + 102)
    [connect] = [r for r in rows(answered) if r.event == "CONNECT"]
    assert connect.data["wait"] == 82.0  # from the first entry


def test_a_call_let_go_while_the_app_was_away_is_offered_and_unanswered_in_its_queue() -> None:
    acd = fresh(T0 + 100)
    away = acd.feed(CallAway("c9", "q", "0611223344", T0 + 10, T0 + 40, "refused"), T0 + 100)
    [row] = rows(away)
    assert (row.event, row.at, row.queue, row.agent_id) == ("AWAY", T0 + 40, "q", None)
    assert row.data == {"caller": "0611223344", "why": "refused", "wait": 30.0}
    assert acd.call("c9") is None and acd.audit() == []  # counted, never held
    assert rows(acd.feed(CallAway("c8", "gone", "", T0, T0 + 1, "abandoned"), T0 + 101)) == []

    arrived = acd.feed(CallArrived("c1", "q"), T0 + 200)
    [offer] = [a for a in arrived if isinstance(a, Offer)]
    answer = OfferAnswered(offer.offer_id, offer.call_id, offer.agent_id)
    answered = rows(arrived) + rows(acd.feed(answer, T0 + 201))
    report = fold(report_rows([row, *answered]), T0, T0 + 300)
    figures = report.queues["q"]
    tally = figures.tally
    assert (tally.offered, tally.answered, tally.unanswered, tally.away) == (2, 1, 1, 1)
    assert tally.abandoned == 0 and figures.summary()["away"] == 1
    assert figures.service_level == 0.5  # a 30 s hold is no short wait (T = S = 20 s)
    stats = Stats()
    stats.apply_all([row, *answered])
    assert stats.queue("q", T0 + 300).offered == 2  # the wallboard counts it alike


@dataclass(frozen=True)
class Row:
    at: datetime
    event: str
    call_id: str | None
    queue: str | None
    agent_user_id: int | None
    data: dict[str, Any] = field(default_factory=dict)


def report_rows(journal: list[JournalRow]) -> list[Row]:
    return [Row(datetime.fromtimestamp(r.at, UTC), str(r.event), r.call_id, r.queue,
                USERS.get(r.agent_id or ""), dict(r.data)) for r in journal]


class Run:
    """Feeds one core (then, after a restart, another) and keeps the journal as stored: the
    restored logins and pauses are applied without their rows, as the owner does."""

    def __init__(self) -> None:
        self.acd = Acd(QUEUES, AGENTS, start=T0)
        self.journal: list[JournalRow] = []
        self.offers: dict[str, Offer] = {}

    def feed(self, event: AcdInput, at: float, *, journal: bool = True) -> None:
        for action in self.acd.feed(event, at):
            if isinstance(action, JournalRow) and journal:
                self.journal.append(action)
            elif isinstance(action, Offer):
                self.offers[action.call_id] = action

    def answer(self, call_id: str, at: float) -> None:
        offer = self.offers.pop(call_id)
        self.feed(OfferAnswered(offer.offer_id, call_id, offer.agent_id), at)

    def restart(self, at: float) -> None:
        """The app stopped at `at` - 10 with c1 talking to a1 and c2 waiting; it starts again
        at `at`: logins and pauses from the journal, then what Asterisk still has."""
        [connect] = [r for r in self.journal if r.event == "CONNECT" and r.call_id == "c1"]
        self.acd = Acd(QUEUES, AGENTS, start=at)
        self.feed(AgentLogin("a1", ["q"]), at, journal=False)
        self.feed(AgentLogin("a2", ["q"]), at, journal=False)
        self.feed(AgentPause("a2", "lunch"), at, journal=False)
        wait = connect.data["wait"]
        assert isinstance(wait, float)
        self.feed(TalkAdopted("c1", "q", "a1", connect.at, connect.at - wait), at)
        self.feed(CallArrived("c2", "q", entered_at=T0 + 20, adopted=True), at)
        for agent in ("a1", "a2"):
            self.feed(AgentRegistered(agent), at)


def day(restart: Callable[[Run], None] | None) -> Run:
    run = Run()
    for agent in ("a1", "a2"):
        run.feed(AgentRegistered(agent), T0)
        run.feed(AgentLogin(agent, ["q"]), T0)
    run.feed(AgentPause("a2", "lunch"), T0 + 1)
    run.feed(CallArrived("c1", "q", caller="+1555"), T0 + 10)
    run.answer("c1", T0 + 12)
    run.feed(CallArrived("c2", "q", caller="+1556"), T0 + 20)
    if restart is not None:
        restart(run)
    run.feed(CallerHungUp("c1"), T0 + 60)
    run.answer("c2", T0 + 62)
    run.feed(CallerHungUp("c2"), T0 + 90)
    run.feed(AgentUnpause("a2"), T0 + 100)
    return run


def test_the_report_of_a_period_with_a_restart_equals_the_one_without() -> None:
    steady = day(None)
    restarted = day(lambda run: run.restart(T0 + 40))
    counted = [str(r.event) for r in restarted.journal]
    assert counted.count("ENTERQUEUE") == 2 and counted.count("LOGIN") == 2
    assert counted.count("PAUSE") == 1 and counted.count("UNPAUSE") == 1
    assert counted.count("COMPLETECALLER") == 2
    without = fold(report_rows(steady.journal), T0, T0 + 200)
    with_restart = fold(report_rows(restarted.journal), T0, T0 + 200)
    a, b = without.queues["q"].tally, with_restart.queues["q"].tally
    assert (b.offered, b.answered, b.handled, b.abandoned) == (a.offered, a.answered,
                                                               a.handled, a.abandoned) == (
        2, 2, 2, 0)
    assert b.talk == pytest.approx(a.talk) == 48 + 28
    assert b.answer_wait == pytest.approx(a.answer_wait)
    for user in (1, 2):
        x, y = without.agents[user].tally, with_restart.agents[user].tally
        assert (y.answered, y.handled) == (x.answered, x.handled)
        assert y.talk == pytest.approx(x.talk)
        assert y.paused == pytest.approx(x.paused)
        assert y.busy == pytest.approx(x.busy)
        assert y.available == pytest.approx(x.available)
    assert with_restart.agents[2].tally.paused == pytest.approx(99.0)


def test_the_wallboard_shows_a_caller_put_back_as_waiting_since_their_first_entry() -> None:
    acd = Acd(QUEUES, AGENTS, start=T0 + 100)
    stats = Stats()
    stats.apply_all(acd.feed(CallArrived("c1", "q"), T0 + 100))
    stats.apply_all(acd.feed(CallArrived("c2", "q", entered_at=T0 + 20, adopted=True), T0 + 100))
    board = stats.queue("q", T0 + 110)
    assert (board.waiting, board.offered, board.longest_wait) == (2, 1, 90.0)
