"""Call records as stored: instants kept exact and in UTC, live calls listed, bad rows refused.
(The call path writes them through the write-behind queue: see test_store_writer.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from storekit import add_call

from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import CallAnswered, CallEnded, CallStarted
from pbx_stasis.calls.records import CallLog
from pbx_stasis.store import (
    CallJournal,
    CallRecords,
    CallStatus,
    Database,
    Direction,
    Directory,
    StoreError,
)

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


async def test_each_change_of_a_call_is_one_event_journaled_and_published(db: Database) -> None:
    """The outbox: the journal line and the bus event of a call's change are the same object;
    the feed's JSON is the LiveCall shape the pages read (journal-only fields left out)."""
    tenant_id = await _tenant(db)
    bus = Bus()
    seen = bus.subscribe(["call:*"], tenant_id=tenant_id)
    log = CallLog(db, bus)
    record = await log.open(tenant_id=tenant_id, channel_id="chan-7", direction=Direction.INBOUND,
                            from_number="+15550100", to_number="+15550001", data={"did": "main"})
    record = await log.answered(record)
    await log.close(record, cause=16, cause_text="Normal Clearing", hung_up_by="caller",
                    data={"recording": "r1"})
    await db.writes.settle()

    events = [seen.get_nowait() for _ in range(3)]
    assert all(event is not None for event in events) and seen.get_nowait() is None
    published = [event.payload for event in events if event is not None]
    assert [type(p) for p in published] == [CallStarted, CallAnswered, CallEnded]
    assert [e.topic for e in events if e is not None] == ["call:state", "call:state", "call:ended"]
    rows = await CallJournal(db).events_for_call(record.id)
    lines = [p.line(tenant_id) for p in published]
    assert [(r.event, r.data, r.at, r.agent_user_id) for r in rows] == [
        (line.event, dict(line.data), line.at, line.agent_user_id) for line in lines
    ]
    assert [(r.event, r.data) for r in rows] == [
        ("CALLSTART", {"channel": "chan-7", "from": "+15550100", "to": "+15550001",
                       "direction": "inbound", "did": "main"}),
        ("ANSWER", {}),
        ("CALLEND", {"cause": 16, "cause_text": "Normal Clearing", "by": "caller",
                     "recording": "r1"}),
    ]
    started, answered = record.started_at.isoformat(), rows[1].at.isoformat()
    call = {"call_id": record.id, "direction": "inbound", "from_number": "+15550100",
            "to_number": "+15550001", "started_at": started, "queue": None,
            "agent_user_id": None, "held": False, "muted": False, "connected_at": None,
            "callback": None, "ivr_node": None, "position": None, "waiting_since": None,
            "priority": None, "ringing_user_id": None}
    assert [e.json() for e in events if e is not None] == [
        {**call, "answered_at": None, "state": "ivr"},
        {**call, "answered_at": answered, "state": "ivr"},
        {**call, "answered_at": answered, "state": "ended", "cause": 16, "by": "caller"},
    ]
