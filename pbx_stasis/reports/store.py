"""The journal lines a report reads, streamed from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime

from sqlalchemy import select

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
) -> AsyncIterator[Sequence[Row]]:
    """A tenant's lines of [start, end) among `events`, oldest first, `batch` at a time: a long
    period streams instead of sitting in memory whole. Plain column rows of the counted events
    only: a month of 2,000 calls a day reads and folds in 6.5 s on SQLite, against 24 s for every
    line as ORM objects (scripts/bench-reports)."""
    statement = (
        select(CallEvent.at, CallEvent.event, CallEvent.queue, CallEvent.agent_user_id,
               CallEvent.data)
        .where(CallEvent.tenant_id == tenant_id, CallEvent.at >= start, CallEvent.at < end,
               CallEvent.event.in_(sorted(events)))
        .order_by(CallEvent.id)
        .execution_options(yield_per=batch)
    )
    async with db.session() as session:
        result = await session.stream(statement)
        async for rows in result.partitions():
            yield rows
