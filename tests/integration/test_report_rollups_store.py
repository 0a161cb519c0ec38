"""Quarter-hour rollups in the database (SQLite and PostgreSQL): rolled from the stored journal
in steps or in one go, a report read from them (and the journal around them) equals the report
folded from the whole journal; with a queue's settings changed the journal is folded instead,
until a rebuild rolls the quarters with the new ones."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pytest
from figures_journal import AGENTS, DAY1, DAY2, DAY3, QUEUES, StoredRow, stored, two_days
from sqlalchemy import func, select

from pbx_stasis.acd.figures import QueueRules
from pbx_stasis.reports.core import Report, fold
from pbx_stasis.reports.rollup_store import (
    SETTLE_S,
    period_report,
    rebuild,
    roll_all,
    roll_up,
    rolled_span,
)
from pbx_stasis.reports.tables import AgentDayRow, QueueQuarterRow
from pbx_stasis.store import CallJournal, Database, Directory, NewEvent
from pbx_stasis.store.tables import Call, Direction


async def _stored_two_days(db: Database) -> tuple[int, list[StoredRow]]:
    directory = Directory(db)
    users = {name: (await directory.add_user("acme", name, "agent")).id for name in AGENTS}
    tenant_id = (await directory.ensure_tenant("acme")).id
    rows = [stored(row, users) for row in two_days().journal()]
    async with db.transaction() as tx:  # the journal's calls exist (a foreign key)
        for call_id in sorted({r.call_id for r in rows if r.call_id}):
            tx.add(Call(id=call_id, tenant_id=tenant_id, channel_id=call_id,
                        direction=Direction.INBOUND, from_number="+33100000001",
                        to_number="+33100000000", started_at=datetime.fromtimestamp(DAY1, UTC)))
    await CallJournal(db).append_many(db, [
        NewEvent(tenant_id, r.event, r.call_id, r.agent_user_id, r.queue, r.data, r.at)
        for r in rows])
    return tenant_id, rows


def _figures(report: Report) -> tuple[dict[str, object], dict[int, object], list[object]]:
    """Every figure, to the microsecond: the database adds seconds up in its own order."""
    def rounded(tally: object) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(tally).items()}  # type: ignore[call-overload]

    return ({q: rounded(f.tally) for q, f in report.queues.items()},
            {a: rounded(f.tally) for a, f in report.agents.items()},
            [rounded(h.tally) for h in report.hours])


PERIODS = ((DAY1, DAY2), (DAY2, DAY3), (DAY1, DAY3),
           (DAY1 + 9.1 * 3600, DAY1 + 13.3 * 3600),  # parts of quarters at both ends
           (DAY2 - 1800, DAY2 + 7000))


async def test_reports_from_rollups_equal_the_fold(db: Database) -> None:
    tenant_id, rows = await _stored_two_days(db)
    rules = {q.name: QueueRules.of(q) for q in QUEUES}
    assert await roll_up(db, tenant_id, rules, DAY1 + 10 * 3600 + 100) > 0  # a first step
    assert await rolled_span(db, tenant_id) == (DAY1 + 8 * 3600, DAY1 + 10 * 3600)
    # Nothing rolled yet past 10:00: the reports fold the journal for the rest.
    for start, end in PERIODS:
        assert _figures(await period_report(db, tenant_id, start, end, rules)) == _figures(
            fold(rows, start, end, rules)), (start, end)
    await roll_up(db, tenant_id, rules, DAY3 + 3600)
    assert await rolled_span(db, tenant_id) == (DAY1 + 8 * 3600, DAY3 + 3600)
    for start, end in PERIODS:
        assert _figures(await period_report(db, tenant_id, start, end, rules)) == _figures(
            fold(rows, start, end, rules)), (start, end)
    # A rollup again is a no-op; the quarters in steps are those of one go.
    assert await roll_up(db, tenant_id, rules, DAY3 + 3600) == 0
    async with db.session() as session:
        in_steps = await session.scalar(select(func.count()).select_from(QueueQuarterRow))
    assert await rebuild(db, tenant_id, DAY3 + 3600) > 0  # no queues stored: default rules
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(QueueQuarterRow)) == (
            in_steps)
    # The reports do read the quarters: one altered by hand shows.
    async with db.transaction() as tx:
        quarter = await tx.scalar(select(QueueQuarterRow).where(QueueQuarterRow.queue == "sales")
                                  .order_by(QueueQuarterRow.start).limit(1))
        assert quarter is not None
        quarter.offered += 100
    report = await period_report(db, tenant_id, DAY1, DAY3, {})
    assert report.queues["sales"].tally.offered == fold(
        rows, DAY1, DAY3, {}).queues["sales"].tally.offered + 100
    # An agent's whole day is read from its day row (DAY2 here), the rest from the quarters.
    async with db.transaction() as tx:
        day = await tx.scalar(select(AgentDayRow).where(
            AgentDayRow.day == datetime.fromtimestamp(DAY2, UTC)).limit(1))
        assert day is not None
        agent, day.talk = day.agent_user_id, day.talk + 1000
    for start, end, more in ((DAY1, DAY3, 1000), (DAY2 + 900, DAY3, 0)):
        report = await period_report(db, tenant_id, start, end, {})
        assert report.agents[agent].tally.talk == pytest.approx(
            fold(rows, start, end, {}).agents[agent].tally.talk + more), (start, end)


async def test_changed_queue_settings_fold_the_journal_until_a_rebuild(db: Database) -> None:
    tenant_id, rows = await _stored_two_days(db)
    rules = {q.name: QueueRules.of(q) for q in QUEUES}
    await roll_up(db, tenant_id, rules, DAY3)
    changed = {**rules, "sales": QueueRules(5.0)}  # T 20 s -> 5 s: fewer answered within
    got = await period_report(db, tenant_id, DAY1, DAY3, changed)
    assert _figures(got) == _figures(fold(rows, DAY1, DAY3, changed))
    assert got.queues["sales"].tally.answered_within != fold(
        rows, DAY1, DAY3, rules).queues["sales"].tally.answered_within
    # Rebuilt with the settings stored now (none: the defaults), reports use the quarters.
    await rebuild(db, tenant_id, DAY3)
    assert _figures(await period_report(db, tenant_id, DAY1, DAY3, {})) == _figures(
        fold(rows, DAY1, DAY3, {}))


async def test_the_roller_rolls_what_the_write_behind_queue_wrote(db: Database) -> None:
    """The watcher's round (`roll_all`): the journal's queued writes are stored first, then
    every tenant's quarters that ended a settling time ago are rolled."""
    directory = Directory(db)
    users = {name: (await directory.add_user("acme", name, "agent")).id for name in AGENTS}
    tenant_id = (await directory.ensure_tenant("acme")).id
    rows = [stored(row, users) for row in two_days().journal()]
    for call_id in sorted({r.call_id for r in rows if r.call_id}):
        db.writes.insert_call({
            "id": call_id, "tenant_id": tenant_id, "channel_id": call_id, "linkedid": None,
            "direction": Direction.INBOUND, "from_number": "+33100000001",
            "to_number": "+33100000000", "started_at": datetime.fromtimestamp(DAY1, UTC),
            "answered_at": None, "ended_at": None, "hangup_cause": None,
            "hangup_cause_text": None, "queue": None, "agent_user_id": None,
            "disposition": None, "notes": None, "status": "live"})
    db.writes.append([NewEvent(tenant_id, r.event, r.call_id, r.agent_user_id, r.queue, r.data,
                               r.at) for r in rows])  # queued, not stored yet
    assert await roll_all(db, DAY3 + SETTLE_S) > 0
    # A day per round, from the first line on: a long journal is caught up gently.
    assert await rolled_span(db, tenant_id) == (DAY1 + 8 * 3600, DAY2 + 8 * 3600)
    await roll_all(db, DAY3 + SETTLE_S)
    assert await rolled_span(db, tenant_id) == (DAY1 + 8 * 3600, DAY3)
    # No queue stored: the rules the roller and the report both apply.
    queue_rules: dict[str, QueueRules] = {}
    assert _figures(await period_report(db, tenant_id, DAY1, DAY3, queue_rules)) == _figures(
        fold(rows, DAY1, DAY3, queue_rules))
