"""Call records with their journal lines: the story of a call, as the call actor writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pbx_stasis.store import (
    AlreadyExists,
    CallRecords,
    CallStatus,
    Database,
    Direction,
    Directory,
    Journal,
    StoreError,
)

PARIS = timezone(timedelta(hours=2))
T0 = datetime(2025, 6, 1, 10, 0, 0, 250_001, tzinfo=PARIS)


async def _tenant(db: Database) -> int:
    return (await Directory(db).ensure_default_tenant()).id


async def test_a_call_is_opened_answered_and_closed(db: Database) -> None:
    tenant_id = await _tenant(db)
    agent = await Directory(db).add_user("default", "alice", "agent")
    calls, journal = CallRecords(db), Journal(db)

    async with db.transaction() as tx:
        call = await calls.open_call(
            tx,
            tenant_id=tenant_id,
            channel_id="1717171717.42",
            linkedid="1717171717.42",
            direction=Direction.INBOUND,
            from_number="+33612345678",
            to_number="+33170000000",
            started_at=T0,
        )
        await journal.append(tx, tenant_id=tenant_id, call_id=call.id, event="StasisStart")
    assert len(call.id) == 32 and call.status is CallStatus.LIVE

    assert await calls.set_queue(db, call.id, "sales")
    assert await calls.set_agent(db, call.id, agent.id)
    assert await calls.mark_answered(db, call.id, answered_at=T0 + timedelta(seconds=12))
    assert not await calls.mark_answered(db, call.id, answered_at=T0 + timedelta(seconds=99))
    assert await calls.close_call(
        db, call.id, ended_at=T0 + timedelta(minutes=3), cause=16, cause_text="Normal Clearing"
    )
    assert await calls.set_disposition(db, call.id, disposition="sale", notes="2 licences")

    stored = await calls.get_by_channel("1717171717.42")
    assert stored is not None
    assert stored == await calls.get(call.id)
    assert stored.status is CallStatus.ENDED
    assert stored.direction is Direction.INBOUND
    assert (stored.queue, stored.agent_user_id) == ("sales", agent.id)
    assert (stored.hangup_cause, stored.hangup_cause_text) == (16, "Normal Clearing")
    assert (stored.disposition, stored.notes) == ("sale", "2 licences")
    # Same instants as given, returned aware in UTC, microseconds kept.
    assert stored.started_at == T0 and stored.started_at.tzinfo is UTC
    assert stored.started_at.microsecond == 250_001
    assert stored.answered_at == T0 + timedelta(seconds=12)
    assert stored.ended_at == T0 + timedelta(minutes=3)
    assert stored.ended_at is not None and stored.ended_at.tzinfo is UTC
    assert [e.event for e in await journal.events_for_call(call.id)] == ["StasisStart"]


async def test_closing_twice_changes_nothing_and_says_so(db: Database) -> None:
    tenant_id = await _tenant(db)
    calls = CallRecords(db)
    call = await calls.open_call(
        db,
        tenant_id=tenant_id,
        channel_id="c-1",
        direction=Direction.OUTBOUND,
        from_number="100",
        to_number="+4930123456",
        started_at=T0,
    )
    first_end = T0 + timedelta(seconds=30)
    assert await calls.close_call(db, call.id, ended_at=first_end, cause=16, cause_text="Normal")
    assert not await calls.close_call(
        db, call.id, ended_at=first_end + timedelta(hours=1), cause=34, cause_text="Congestion"
    )
    assert not await calls.mark_answered(db, call.id, answered_at=first_end)
    stored = await calls.get(call.id)
    assert stored is not None
    assert (stored.ended_at, stored.hangup_cause, stored.answered_at) == (first_end, 16, None)
    assert not await calls.close_call(db, "no-such-call", ended_at=first_end)


async def test_live_calls_lists_only_open_calls_oldest_first(db: Database) -> None:
    tenant_id = await _tenant(db)
    other = await Directory(db).ensure_tenant("acme")
    calls = CallRecords(db)
    opened = []
    for n, (tenant, minutes) in enumerate([(tenant_id, 5), (tenant_id, 1), (other.id, 3)]):
        opened.append(
            await calls.open_call(
                db,
                tenant_id=tenant,
                channel_id=f"chan-{n}",
                direction=Direction.INBOUND,
                from_number="1",
                to_number="2",
                started_at=T0 + timedelta(minutes=minutes),
            )
        )
    await calls.close_call(db, opened[0].id, ended_at=T0 + timedelta(minutes=9))

    assert [c.channel_id for c in await calls.live_calls()] == ["chan-1", "chan-2"]
    assert [c.channel_id for c in await calls.live_calls(tenant_id)] == ["chan-1"]
    assert await calls.get_by_channel("chan-unknown") is None


async def test_a_second_record_for_the_same_channel_is_refused(db: Database) -> None:
    tenant_id = await _tenant(db)
    calls = CallRecords(db)
    fields = {
        "tenant_id": tenant_id,
        "channel_id": "dup",
        "direction": Direction.INTERNAL,
        "from_number": "100",
        "to_number": "101",
        "started_at": T0,
    }
    await calls.open_call(db, **fields)  # type: ignore[arg-type]
    with pytest.raises(AlreadyExists, match="'dup'"):
        await calls.open_call(db, **fields)  # type: ignore[arg-type]
    assert len(await calls.live_calls()) == 1


async def test_naive_datetimes_are_refused(db: Database) -> None:
    tenant_id = await _tenant(db)
    with pytest.raises(StoreError, match="naive datetime"):
        await CallRecords(db).open_call(
            db,
            tenant_id=tenant_id,
            channel_id="naive",
            direction=Direction.INBOUND,
            from_number="1",
            to_number="2",
            started_at=datetime(2025, 6, 1, 10, 0),
        )
    assert await CallRecords(db).get_by_channel("naive") is None


async def test_a_call_of_an_unknown_tenant_is_refused(db: Database) -> None:
    with pytest.raises(StoreError) as caught:
        await CallRecords(db).open_call(
            db,
            tenant_id=999,
            channel_id="orphan",
            direction=Direction.INBOUND,
            from_number="1",
            to_number="2",
            started_at=T0,
        )
    assert not isinstance(caught.value, AlreadyExists)
    assert "\n" not in str(caught.value)
