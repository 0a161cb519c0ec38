"""The journal lines a report reads, streamed from the database: the agents' states as the
period began, then the period's lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select

from pbx_stasis.acd.actions import JournalEvent as E
from pbx_stasis.reports.core import EVENTS, Row
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
    line as ORM objects (scripts/bench-reports). With `since_start`, first the last login or
    logout of each agent in each queue and the last pause or unpause of each agent before
    `start`: who was logged in and paused when the period began (time figures run from it)."""
    columns = (CallEvent.at, CallEvent.event, CallEvent.call_id, CallEvent.queue,
               CallEvent.agent_user_id, CallEvent.data)
    async with db.session() as session:
        if since_start:
            before = (CallEvent.tenant_id == tenant_id, CallEvent.at < start,
                      CallEvent.agent_user_id.is_not(None))
            logins = (select(func.max(CallEvent.id))
                      .where(*before, CallEvent.event.in_([E.LOGIN, E.LOGOUT]))
                      .group_by(CallEvent.agent_user_id, CallEvent.queue))
            pauses = (select(func.max(CallEvent.id))
                      .where(*before, CallEvent.event.in_([E.PAUSE, E.UNPAUSE]))
                      .group_by(CallEvent.agent_user_id))
            state = (select(*columns)
                     .where(CallEvent.id.in_(logins.union_all(pauses).scalar_subquery()))
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
