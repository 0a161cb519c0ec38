"""The journal lines of a report's period, streamed in batches, for one tenant only (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pbx_stasis.reports.store import journal_rows
from pbx_stasis.store import Database, Directory, Journal, NewEvent

T0 = datetime(2025, 6, 1, 8, 0, 0, 1, tzinfo=UTC)


async def test_a_period_streams_in_batches_for_its_tenant_only(db: Database) -> None:
    tenant_id = (await Directory(db).ensure_default_tenant()).id
    other = await Directory(db).ensure_tenant("acme")
    journal = Journal(db)
    await journal.append_many(db, [
        NewEvent(tenant_id, "OFFER" if n % 4 else "ivr.enter", data={"n": n},
                 at=T0 + timedelta(minutes=n))
        for n in range(12)
    ])
    await journal.append(db, tenant_id=other.id, event="OFFER", at=T0 + timedelta(minutes=3))
    start, end = T0 + timedelta(minutes=2), T0 + timedelta(minutes=10)
    batches = [[(row.data["n"], row.at) for row in batch]
               async for batch in journal_rows(db, tenant_id, start, end, batch=3)]
    # ivr.enter (n = 4, 8) is no report's business; n = 10 is past the end
    expected = [(n, T0 + timedelta(minutes=n)) for n in (2, 3, 5, 6, 7, 9)]
    assert batches == [expected[:3], expected[3:]]
