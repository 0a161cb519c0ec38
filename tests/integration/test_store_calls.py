"""Call records as stored: instants kept exact and in UTC, live calls listed, bad rows refused.
(The call path writes them through the write-behind queue: see test_store_writer.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from storekit import add_call

from pbx_stasis.bus import Bus
from pbx_stasis.calls.records import CallLog
from pbx_stasis.store import CallRecords, CallStatus, Database, Direction, Directory, StoreError

PARIS = timezone(timedelta(hours=2))
T0 = datetime(2025, 6, 1, 10, 0, 0, 250_001, tzinfo=PARIS)


async def _tenant(db: Database) -> int:
    return (await Directory(db).ensure_default_tenant()).id


async def test_instants_come_back_exact_and_in_utc(db: Database) -> None:
    call = await add_call(db, tenant_id=await _tenant(db), channel_id="1717171717.42",
                          direction=Direction.OUTBOUND, started_at=T0)
    stored = await CallRecords(db).get_by_channel("1717171717.42")
    assert stored is not None and stored == await CallRecords(db).get(call.id)
    assert stored.status is CallStatus.LIVE and stored.direction is Direction.OUTBOUND
    assert stored.started_at == T0 and stored.started_at.tzinfo is UTC
    assert stored.started_at.microsecond == 250_001


async def test_live_calls_lists_only_open_calls_oldest_first(db: Database) -> None:
    tenant_id = await _tenant(db)
    other = await Directory(db).ensure_tenant("acme")
    opened = [
        await add_call(db, tenant_id=tenant, channel_id=f"chan-{n}",
                       started_at=T0 + timedelta(minutes=minutes))
        for n, (tenant, minutes) in enumerate([(tenant_id, 5), (tenant_id, 1), (other.id, 3)])
    ]
    await CallLog(db, Bus()).close(opened[0], cause=16, cause_text="Normal", hung_up_by="caller")
    await db.writes.settle()

    calls = CallRecords(db)
    assert [c.channel_id for c in await calls.live_calls()] == ["chan-1", "chan-2"]
    assert [c.channel_id for c in await calls.live_calls(tenant_id)] == ["chan-1"]
    assert await calls.get_by_channel("chan-unknown") is None


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        await add_call(db, tenant_id=await _tenant(db), channel_id="naive",
                       started_at=datetime(2025, 6, 1, 10, 0))
    assert await CallRecords(db).get_by_channel("naive") is None


async def test_a_call_of_an_unknown_tenant_is_refused_in_one_line(db: Database) -> None:
    with pytest.raises(StoreError) as caught:
        await add_call(db, tenant_id=999, channel_id="orphan", started_at=T0)
    assert "\n" not in str(caught.value)
