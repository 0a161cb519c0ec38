"""A campaign's customer in the core and the figures: the dialler hands a person to the
campaign's queue (CallArrived with `campaign`); every row of that call names the campaign, the
agent's part is outbound work (no queue on its end rows, wrap-up in no queue), and the fold
counts it in no queue's offered, answered, abandons or service level: the agent's outbound
figures take it (docs/figures.md, "Campaign calls")."""

from __future__ import annotations

from acd_floor import START, Floor

from pbx_stasis.acd import AgentConfig, CallerHungUp, QueueConfig, TransferToQueue
from pbx_stasis.acd.events import TalkAdopted
from pbx_stasis.acd.figures import Calendar, Figures
from pbx_stasis.calls.handoff import QueueRequest

GRACE = 2.0  # the campaign's abandon grace (pacing.core.ABANDON_GRACE_S)


def floor_of() -> Floor:
    floor = Floor([QueueConfig("sales", wrapup=10.0, service_level=20), QueueConfig("other")],
                  ["a1", AgentConfig("a2", "PJSIP/a2")])
    floor.ready("a1", "sales")
    floor.ready("a2", "other")
    return floor


def fold(floor: Floor) -> Figures:
    figures = Figures(calendar=Calendar(86400.0))
    for row in floor.journal():
        figures.add(row.event, row.at, row.call_id, row.queue, row.agent_id, row.data)
    return figures


def test_every_row_names_the_campaign_and_the_agents_part_is_outbound_work() -> None:
    floor = floor_of()
    floor.arrive("k1", "sales", priority=100, max_wait=GRACE, campaign=7)
    floor.answer("k1", "a1")
    floor.feed(CallerHungUp("k1"), at=START + 40)
    rows = floor.journal(call_id="k1")
    assert [r.event for r in rows][:3] == ["ENTERQUEUE", "OFFER", "CONNECT"]
    assert all(r.data.get("campaign") == 7 for r in rows)
    [end] = floor.journal("COMPLETECALLER")
    assert end.queue is None and end.data["outbound"] is True
    [wrap] = floor.journal("WRAPUPSTART")
    assert wrap.queue is None and wrap.data["outbound"] is True
    floor.advance(15)
    [wrap_end] = floor.journal("WRAPUPEND")
    assert wrap_end.queue is None and wrap_end.data["outbound"] is True
    floor.audit()


def test_campaign_calls_count_in_no_queue_figure_and_inbound_callers_still_do() -> None:
    floor = floor_of()
    # A campaign customer an agent took, one nobody took within the grace (the campaign's
    # abandon), and an inbound caller answered after 30 s: only the caller is the queue's.
    floor.arrive("k1", "sales", priority=100, max_wait=GRACE, campaign=7)
    floor.answer("k1", "a1")
    floor.feed(CallerHungUp("k1"), at=START + 40)
    floor.advance(15)  # wrap-up over
    floor.feed(CallerHungUp("c0"))  # nothing: no such call
    floor.arrive("k2", "sales", priority=100, max_wait=GRACE, campaign=7)
    floor.arrive("c1", "sales")
    floor.advance(GRACE + 1)  # k2 times out: a1 is free again, takes the caller now
    assert [r.event for r in floor.journal(call_id="k2")][-1] == "EXITWITHTIMEOUT"
    floor.advance(27)
    floor.answer("c1", "a1")
    figures = fold(floor)
    day = figures.calendar.bucket(START)
    q = figures.queue("sales", day)
    assert (q.offered, q.answered, q.unanswered, q.timed_out, q.abandoned) == (1, 1, 0, 0, 0)
    assert q.service_level(QueueConfig("sales").service_level_mode) == 0.0  # 30 s > 20 s
    assert (q.handled, q.talk, q.wrapup) == (0, 0.0, 0.0)
    a1 = figures.agent("a1", day)
    assert (a1.answered, a1.outbound_connected, a1.outbound_talk, a1.outbound_wrapup) == \
        (1, 1, 40.0, 10.0)
    assert (a1.handled, a1.talk) == (0, 0.0)


def test_transferred_to_another_queue_the_customer_is_that_queues_caller() -> None:
    floor = floor_of()
    floor.arrive("k1", "sales", max_wait=GRACE, campaign=7)
    floor.answer("k1", "a1")
    floor.feed(TransferToQueue("k1", "other"), at=START + 20)
    [transfer] = floor.journal("TRANSFER")
    assert transfer.queue is None and transfer.data["outbound"] is True
    [entered] = floor.journal("ENTERQUEUE", call_id="k1")[1:]
    assert entered.queue == "other" and "campaign" not in entered.data
    floor.answer("k1", "a2")
    figures = fold(floor)
    day = figures.calendar.bucket(START)
    assert (figures.queue("other", day).offered, figures.queue("sales", day).offered) == (1, 0)
    floor.audit()


def test_a_campaign_talk_carried_over_a_restart_stays_outbound_work() -> None:
    """The restarted app adopts the talk with its CONNECT row's campaign (acd/restore.py): its
    end is the agent's outbound talk, in no queue, whether it ended while the app was away
    or goes on."""
    floor = floor_of()
    floor.feed(TalkAdopted("k1", "sales", "a1", START - 20, START - 21, campaign=7))
    floor.feed(TalkAdopted("k2", "sales", "a1", START - 50, START - 51, ended=True,
                           campaign=7))
    floor.feed(CallerHungUp("k1"), at=START + 10)
    ends = floor.journal("COMPLETECALLER")
    assert [(r.call_id, r.queue, r.data["outbound"], r.data["campaign"]) for r in ends] == [
        ("k2", None, True, 7), ("k1", None, True, 7)]
    figures = fold(floor)
    day = figures.calendar.bucket(START)
    q = figures.queue("sales", day)
    assert (q.handled, q.talk) == (0, 0.0)
    assert figures.agent("a1", day).outbound_talk == 80.0  # 30 + 50
    floor.audit()


def test_the_campaign_travels_in_the_queue_bridge_name_over_a_restart() -> None:
    request = QueueRequest("sales", priority=100, max_wait=GRACE, campaign=7)
    assert QueueRequest.from_bridge_name(request.bridge_name()) == request
    plain = QueueRequest("sales")
    assert "campaign" not in plain.bridge_name()
    assert QueueRequest.from_bridge_name(plain.bridge_name()) == plain
