"""Quarter-hour rollups in the database (reports/rollups.py): rolled from the journal as it is
written (the Stasis process's watcher, `keep_rolled`, every minute), all again by
`pbx reports rollup --rebuild`, and read by the reports (`period_report`): stored quarters where
they exist with the queue settings of now, the journal folded for the rest of the period."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.acd.figures import HOUR, AgentTally, Figures, QueueRules, QueueTally
from pbx_stasis.reports.core import Report, ReportFold, zone_hours
from pbx_stasis.reports.rollups import (
    QUARTER,
    QUARTERS,
    AgentQuarter,
    QueueQuarter,
    merge_into,
    quarter_ceil,
    quarter_floor,
    quarters_of,
    usable,
)
from pbx_stasis.reports.store import journal_rows
from pbx_stasis.reports.tables import AgentDayRow, AgentQuarterRow, QueueQuarterRow, RollupMarkRow
from pbx_stasis.store import Database
from pbx_stasis.store.base import UTCDateTime
from pbx_stasis.store.tables import CallEvent, Tenant

log = logging.getLogger(__name__)

DAY_S = 86400.0
CHUNK_S = DAY_S  # rolled a day at a time: one transaction each, memory bounded
# A quarter is rolled once it ended this long ago and the write-behind queue has stored what it
# held (its rows are stamped when they happened and queued at once; rows a restart writes late,
# such as a talk that ended while the app was away, are stamped when the app came back).
SETTLE_S = 60.0
ROLL_EVERY_S = 60.0


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def rolled_span(db: Database, tenant_id: int) -> tuple[float, float] | None:
    """[since, through) of the tenant's stored quarters (None: nothing rolled yet)."""
    async with db.session() as session:
        mark = await session.get(RollupMarkRow, tenant_id)
        return None if mark is None else (mark.since.timestamp(), mark.through.timestamp())


async def queue_rules(db: Database, tenant_id: int) -> dict[str, QueueRules]:
    return {config.name: QueueRules.of(config)
            for _, config in await AcdDirectory(db).queues(tenant_id)}


async def _fold(db: Database, tenant_id: int, start: float, end: float,
                rules: Mapping[str, QueueRules], *, quarters: bool = False,
                zone: tzinfo = UTC) -> ReportFold:
    """The journal of [start, end) folded (the agents' states at `start` first), in quarter
    hours or in `zone`'s hours."""
    folding = ReportFold(start, end, rules, zone=zone, calendar=QUARTERS if quarters else None)
    async for batch in journal_rows(db, tenant_id, _at(start), _at(end), since_start=True):
        if quarters:
            # The roller runs beside the calls (pbx run): a batch of 5,000 lines is ~0.3 s of
            # folding, so it folds in a worker thread and the event loop keeps its turns.
            await asyncio.to_thread(folding.add, batch)
        else:
            folding.add(batch)
            await asyncio.sleep(0)  # a long span: let the other requests through
    return folding


async def roll_up(db: Database, tenant_id: int, rules: Mapping[str, QueueRules],
                  through: float, *, days: int | None = None) -> int:
    """Roll the tenant's quarters that end by `through` and are not rolled yet (from the first
    journal line on, the first time), at most `days` days of them; the quarters written."""
    span = await rolled_span(db, tenant_id)
    if span is None:
        async with db.session() as session:
            first = await session.scalar(select(func.min(CallEvent.at))
                                         .where(CallEvent.tenant_id == tenant_id))
        if first is None:
            return 0
        since = start = quarter_floor(first.timestamp())
    else:
        since, start = span
    end = quarter_floor(through)
    written = 0
    chunks = 0
    while start < end and (days is None or chunks < days):
        chunks += 1
        until = min(end, start + CHUNK_S)
        queues, agents = quarters_of(await _fold(db, tenant_id, start, until, rules,
                                                 quarters=True))
        await _store(db, tenant_id, since, start, until, queues, agents)
        written += len(queues) + len(agents)
        start = until
    return written


async def _store(db: Database, tenant_id: int, since: float, start: float, until: float,
                 queues: list[QueueQuarter], agents: list[AgentQuarter]) -> None:
    """A span's quarters and the new mark, in one transaction (a re-roll replaces them)."""
    async with db.transaction() as tx:
        for table in (QueueQuarterRow, AgentQuarterRow):
            await tx.execute(delete(table).where(table.tenant_id == tenant_id,
                                                 table.start >= _at(start),
                                                 table.start < _at(until)))
        if queues:
            await tx.execute(insert(QueueQuarterRow), [
                {"tenant_id": tenant_id, "start": _at(q.start), "queue": q.queue,
                 "hour": int(q.start // HOUR), "threshold": q.threshold, "short": q.short,
                 **_queue_columns(q.tally)} for q in queues])
        if agents:
            await tx.execute(insert(AgentQuarterRow), [
                {"tenant_id": tenant_id, "start": _at(a.start), "agent_user_id": a.agent_user_id,
                 **asdict(a.tally)} for a in agents])
        day = _day_floor(start)
        while day < until:  # the days it touched, added up again from their quarters
            await _store_day(tx, tenant_id, day)
            day += DAY_S
        await tx.execute(delete(RollupMarkRow).where(RollupMarkRow.tenant_id == tenant_id))
        await tx.execute(insert(RollupMarkRow), [
            {"tenant_id": tenant_id, "since": _at(since), "through": _at(until)}])


async def _store_day(tx: AsyncSession, tenant_id: int, day: float) -> None:
    """The agents' quarters of the UTC day starting at `day`, added up into its day rows."""
    quarter = AgentQuarterRow
    await tx.execute(delete(AgentDayRow).where(AgentDayRow.tenant_id == tenant_id,
                                               AgentDayRow.day == _at(day)))
    sums = (select(quarter.tenant_id, literal(_at(day), UTCDateTime()), quarter.agent_user_id,
                   *(func.sum(getattr(quarter, name)) for name in _AGENT_FIELDS))
            .where(quarter.tenant_id == tenant_id, quarter.start >= _at(day),
                   quarter.start < _at(day + DAY_S))
            .group_by(quarter.tenant_id, quarter.agent_user_id))
    await tx.execute(insert(AgentDayRow).from_select(
        ["tenant_id", "day", "agent_user_id", *_AGENT_FIELDS], sums))


def _day_floor(at: float) -> float:
    return at - at % DAY_S


def _day_ceil(at: float) -> float:
    return _day_floor(at) + (DAY_S if at % DAY_S else 0.0)


# QueueTally's fields by their columns (its `short` count is `short_count`: `short` is S).
_QUEUE_FIELDS = {f.name: "short_count" if f.name == "short" else f.name
                 for f in fields(QueueTally)}
_AGENT_FIELDS = tuple(f.name for f in fields(AgentTally))


def _queue_columns(tally: QueueTally) -> dict[str, float]:
    return {column: getattr(tally, name) for name, column in _QUEUE_FIELDS.items()}


async def rebuild(db: Database, tenant_id: int, through: float) -> int:
    """Forget the tenant's quarters and roll them all again with the queue settings of now."""
    async with db.transaction() as tx:
        for table in (QueueQuarterRow, AgentQuarterRow, AgentDayRow, RollupMarkRow):
            await tx.execute(delete(table).where(table.tenant_id == tenant_id))
    return await roll_up(db, tenant_id, await queue_rules(db, tenant_id), through)


async def stored_quarters(db: Database, tenant_id: int, start: float, end: float
                          ) -> tuple[list[QueueQuarter], list[AgentQuarter]]:
    """The quarters of [start, end) added up in the database: each queue's by hour (a report's
    hours and days; separately for quarters rolled with other rules), each agent's whole (a
    report shows an agent's period; up to three rows each: the whole days and the quarters
    before and after them): a month of 200 agents adds 6,000 day rows, not 576,000 quarters."""
    queue, agent = QueueQuarterRow, AgentQuarterRow
    summed = [func.max(queue.longest_wait) if name == "longest_wait"
              else func.sum(getattr(queue, column)) for name, column in _QUEUE_FIELDS.items()]
    by_hour = (select(queue.queue, queue.hour, queue.threshold, queue.short, *summed)
               .where(queue.tenant_id == tenant_id, queue.start >= _at(start),
                      queue.start < _at(end))
               .group_by(queue.queue, queue.hour, queue.threshold, queue.short))
    # Each agent's whole UTC days from their day rows, the quarters only around them.
    days = (_day_ceil(start), _day_floor(end))
    if days[0] >= days[1]:  # no whole day: quarters only
        days = (end, end)
    by_agent = [_agent_sums(agent, agent.start, tenant_id, *part)
                for part in ((start, days[0]), (days[1], end)) if part[0] < part[1]]
    if days[0] < days[1]:
        by_agent.append(_agent_sums(AgentDayRow, AgentDayRow.day, tenant_id, *days))
    async with db.session() as session:
        queue_rows = (await session.execute(by_hour)).all()
        agent_rows = [row for part in by_agent for row in (await session.execute(part)).all()]
    queues = [QueueQuarter(hour * HOUR, name, threshold, short,
                           QueueTally(*(_number(value) for value in tally)))
              for name, hour, threshold, short, *tally in queue_rows]
    agents = [AgentQuarter(start, user_id, AgentTally(*(_number(value) for value in tally)))
              for user_id, *tally in agent_rows]
    return queues, agents


def _agent_sums(table: type[AgentQuarterRow | AgentDayRow], at: InstrumentedAttribute[datetime],
                tenant_id: int, start: float, end: float) -> Select[tuple[Any, ...]]:
    """Each agent's rows of `table` starting in [start, end), added up."""
    return (select(table.agent_user_id, *(func.sum(getattr(table, name))
                                          for name in _AGENT_FIELDS))
            .where(table.tenant_id == tenant_id, at >= _at(start), at < _at(end))
            .group_by(table.agent_user_id))


def _number(value: object) -> Any:
    """A SUM as Python has it (PostgreSQL's bigint sums and numeric come back as int/Decimal)."""
    return float(value) if isinstance(value, Decimal) else value


async def period_report(db: Database, tenant_id: int, start: float, end: float,
                        rules: Mapping[str, QueueRules], zone: tzinfo = UTC) -> Report:
    """The report of [start, end) (time figures until `end`: the present for a period not over
    yet): the stored quarters inside it, when rolled with `rules`, and the journal folded for
    the parts before and after them; else the journal folded whole. Its hours and days are
    `zone`'s: the stored quarters are summed by UTC hour, so a zone whose hours are not UTC's
    (India, +05:30) reads the journal."""
    span = await rolled_span(db, tenant_id)
    if zone_hours(start, zone).offset:
        span = None
    first, last = quarter_ceil(start), quarter_floor(end)
    if span is not None:
        first, last = max(first, span[0]), min(last, span[1])
    if span is None or first >= last:
        return (await _fold(db, tenant_id, start, end, rules, zone=zone)).finish()
    queues, agents = await stored_quarters(db, tenant_id, first, last)
    if not usable(queues, rules):  # a queue's settings changed since: its counts differ
        return (await _fold(db, tenant_id, start, end, rules, zone=zone)).finish()
    report = ReportFold(start, end, rules, zone=zone)
    merge_into(report, queues, agents)
    for part in ((start, first), (last, end)):
        if part[0] < part[1]:
            _merge_figures(report, (await _fold(db, tenant_id, *part, rules, zone=zone)).tallies())
    return report.finish()


def _merge_figures(report: ReportFold, figures: Figures) -> None:
    start_of = figures.calendar.start
    report.add_tallies(
        ((queue, start_of(bucket), tally) for (queue, bucket), tally in figures.queues.items()),
        ((_user_id(agent), start_of(bucket), tally)
         for (agent, bucket), tally in figures.agents.items()))


def _user_id(agent: object) -> int:
    assert isinstance(agent, int)
    return agent


async def _tenant_ids(db: Database) -> AsyncIterator[int]:
    async with db.session() as session:
        ids = list(await session.scalars(select(Tenant.id).order_by(Tenant.id)))
    for tenant_id in ids:
        yield tenant_id


async def roll_all(db: Database, now: float) -> int:
    """Every tenant's quarters that ended SETTLE_S before `now`, once the journal's queued
    writes are stored; nothing while the database is out (rows of those quarters may come)."""
    await db.writes.settle()
    if db.writes.outage:
        return 0
    written = 0
    async for tenant_id in _tenant_ids(db):
        # A day per round: a long journal never rolled (an upgrade) is caught up gently.
        written += await roll_up(db, tenant_id, await queue_rules(db, tenant_id),
                                 now - SETTLE_S, days=1)
    return written


async def keep_rolled(db: Database) -> None:
    """The watcher: roll what the journal added, every minute, for as long as the app runs."""
    while True:
        try:
            await roll_all(db, time.time())
        except Exception as exc:  # the database away: the next round catches up
            log.warning("report rollups not updated (next try in %.0f s): %s", ROLL_EVERY_S, exc)
        await asyncio.sleep(ROLL_EVERY_S)


__all__ = ["QUARTER", "keep_rolled", "period_report", "rebuild", "roll_all", "roll_up"]
