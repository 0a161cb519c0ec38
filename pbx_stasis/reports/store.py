"""The journal lines a report reads, streamed from the database: the agents' states as the
period began, then the period's lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import CompoundSelect, func, select, union_all

from pbx_stasis.acd.figures import (
    EVENTS,
    LOGIN_ROWS,
    PAUSE_ROWS,
    STATE_LOOKBACK,
    TALK_ROWS,
    WRAPUP_ROWS,
)
from pbx_stasis.reports.core import Row
from pbx_stasis.store import Database
from pbx_stasis.store.tables import CallEvent


async def journal_rows(
    db: Database,
    tenant_id: int,
    start: datetime,
    end: datetime,
    *,
    events: Collection[str] = EVENTS,
    batch: int = 5000,
    since_start: bool = False,
) -> AsyncIterator[Sequence[Row]]:
    """A tenant's lines of [start, end) among `events`, oldest first, `batch` at a time: a long
    period streams instead of sitting in memory whole. Plain column rows of the counted events
    only: a month of 2,000 calls a day reads and folds in 6.5 s on SQLite, against 24 s for every
    line as ORM objects (scripts/bench-reports). With `since_start`, first the rows that say
    what each agent was doing when the period began (acd/figures.py's `state_group`)."""
    columns = (CallEvent.at, CallEvent.event, CallEvent.call_id, CallEvent.queue,
               CallEvent.agent_user_id, CallEvent.data)
    async with db.session() as session:
        if since_start:
            state = (select(*columns)
                     .where(CallEvent.id.in_(_state_at(tenant_id, start).scalar_subquery()))
                     .order_by(CallEvent.id))
            rows = (await session.execute(state)).all()
            if rows:
                yield rows
        statement = (
            select(*columns)
            .where(CallEvent.tenant_id == tenant_id, CallEvent.at >= start, CallEvent.at < end,
                   CallEvent.event.in_(sorted(events)))
            .order_by(CallEvent.id)
            .execution_options(yield_per=batch)
        )
        result = await session.stream(statement)
        async for rows in result.partitions():
            yield rows


def _state_at(tenant_id: int, start: datetime) -> CompoundSelect[tuple[int]]:
    """The ids of the last row before `start` of each of figures.state_group's groups."""
    last = func.max(CallEvent.id)
    before = (CallEvent.tenant_id == tenant_id, CallEvent.at < start,
              CallEvent.agent_user_id.is_not(None))
    recent = (*before, CallEvent.at >= start - timedelta(seconds=STATE_LOOKBACK))
    return union_all(
        select(last).where(*before, CallEvent.event.in_(sorted(LOGIN_ROWS)))
        .group_by(CallEvent.agent_user_id, CallEvent.queue),
        select(last).where(*before, CallEvent.event.in_(sorted(PAUSE_ROWS)))
        .group_by(CallEvent.agent_user_id),
        select(last).where(*recent, CallEvent.event.in_(sorted(WRAPUP_ROWS)))
        .group_by(CallEvent.agent_user_id),
        select(last).where(*recent, CallEvent.event.in_(sorted(TALK_ROWS)),
                           CallEvent.call_id.is_not(None))
        .group_by(CallEvent.agent_user_id, CallEvent.call_id),
    )
