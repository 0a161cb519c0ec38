"""The journal: append-only lines ordered by id, microsecond timestamps, nothing lost or torn."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from storekit import add_call

from pbx_stasis.store import (
    CallJournal,
    CallRecords,
    Database,
    Direction,
    Directory,
    NewEvent,
    StoreError,
)

T0 = datetime(2025, 6, 1, 8, 0, 0, 1, tzinfo=UTC)


async def _tenant(db: Database) -> int:
    return (await Directory(db).ensure_default_tenant()).id


async def _call(db: Database, tenant_id: int, channel_id: str = "chan-1") -> str:
    call = await add_call(
        db,
        tenant_id=tenant_id,
        channel_id=channel_id,
        direction=Direction.INBOUND,
        from_number="+33612345678",
        to_number="3000",
        started_at=T0,
    )
    return call.id


async def test_a_call_story_reads_back_in_order_with_microseconds(db: Database) -> None:
    tenant_id = await _tenant(db)
    agent = await Directory(db).add_user("default", "bob", "agent")
    call_id = await _call(db, tenant_id)
    journal = CallJournal(db)
    story: list[tuple[str, str | None, dict[str, Any]]] = [
        ("StasisStart", None, {"channel": "chan-1"}),
        ("ENTERQUEUE", "sales", {"position": 1}),
        ("RINGNOANSWER", "sales", {"ring_ms": 15000}),
        ("CONNECT", "sales", {"holdtime": 21}),
        ("COMPLETECALLER", "sales", {"talktime": 95}),
    ]
    for n, (event, queue, data) in enumerate(story):
        await journal.append(
            db,
            tenant_id=tenant_id,
            call_id=call_id,
            agent_user_id=agent.id if event != "StasisStart" else None,
            queue=queue,
            event=event,
            data=data,
            at=T0 + timedelta(microseconds=n),
        )
    await journal.append(db, tenant_id=tenant_id, agent_user_id=agent.id, event="PAUSE")

    lines = await journal.events_for_call(call_id)
    assert [(e.event, e.queue, e.data) for e in lines] == story
    assert [e.id for e in lines] == sorted(e.id for e in lines)
    assert [e.at.microsecond for e in lines] == [1, 2, 3, 4, 5]
    assert all(e.at.tzinfo is UTC for e in lines)
    assert lines[0].agent_user_id is None and lines[1].agent_user_id == agent.id


async def test_default_timestamps_are_now_in_utc_and_increase_with_ids(db: Database) -> None:
    tenant_id = await _tenant(db)
    journal = CallJournal(db)
    before = datetime.now(UTC)
    for _ in range(5):
        await journal.append(db, tenant_id=tenant_id, event="AGENTCALLED")
    after = datetime.now(UTC)
    lines = await journal.events_after(0)
    assert len(lines) == 5
    assert [e.at for e in lines] == sorted(e.at for e in lines)
    assert before <= lines[0].at and lines[-1].at <= after


async def test_a_batch_is_appended_in_order_and_returned_with_ids(db: Database) -> None:
    tenant_id = await _tenant(db)
    journal = CallJournal(db)
    batch = [
        NewEvent(tenant_id, f"E{n}", data={"n": n}, at=T0 + timedelta(seconds=n)) for n in range(50)
    ]
    appended = await journal.append_many(db, batch)
    assert [e.event for e in appended] == [f"E{n}" for n in range(50)]
    stored = await journal.events_after(0, limit=100)
    assert stored == appended
    assert await journal.append_many(db, []) == []
    assert [e.event for e in await journal.events_after(appended[9].id, limit=3)] == [
        "E10",
        "E11",
        "E12",
    ]
    other = await Directory(db).ensure_tenant("acme")
    await journal.append(db, tenant_id=other.id, event="OTHER")
    assert len(await journal.events_after(0, limit=100, tenant_id=tenant_id)) == 50
    assert [e.event for e in await journal.events_after(0, tenant_id=other.id)] == ["OTHER"]


async def test_a_unit_of_work_failing_midway_leaves_nothing(db: Database) -> None:
    tenant_id = await _tenant(db)
    calls, journal = CallRecords(db), CallJournal(db)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        async with db.transaction() as tx:
            call = await add_call(
                tx,
                tenant_id=tenant_id,
                channel_id="torn",
                direction=Direction.INBOUND,
                from_number="1",
                to_number="2",
                started_at=T0,
            )
            await journal.append(tx, tenant_id=tenant_id, call_id=call.id, event="StasisStart")
            raise Crash

    # A database error midway (a journal line for a call that does not exist) undoes it all too.
    with pytest.raises(StoreError):
        async with db.transaction() as tx:
            await journal.append(tx, tenant_id=tenant_id, event="ENTERQUEUE", queue="q")
            await journal.append(tx, tenant_id=tenant_id, call_id="missing", event="CONNECT")

    assert await calls.get_by_channel("torn") is None
    assert await journal.events_after(0) == []


async def test_a_cancelled_unit_of_work_leaves_nothing(db: Database) -> None:
    # What SIGTERM does to a call actor: its task is cancelled wherever it is.
    tenant_id = await _tenant(db)
    calls, journal = CallRecords(db), CallJournal(db)
    halfway = asyncio.Event()

    async def actor() -> None:
        async with db.transaction() as tx:
            call = await add_call(
                tx,
                tenant_id=tenant_id,
                channel_id="cancelled",
                direction=Direction.INBOUND,
                from_number="1",
                to_number="2",
                started_at=T0,
            )
            await journal.append(tx, tenant_id=tenant_id, call_id=call.id, event="StasisStart")
            halfway.set()
            await asyncio.sleep(60)  # on purpose: parked mid-transaction until cancelled

    task = asyncio.create_task(actor())
    await asyncio.wait_for(halfway.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await calls.get_by_channel("cancelled") is None
    assert await journal.events_after(0) == []
    # The connection went back to the pool usable.
    await journal.append(db, tenant_id=tenant_id, event="AFTER")
    assert [e.event for e in await journal.events_after(0)] == ["AFTER"]


async def test_concurrent_appends_from_many_tasks_lose_nothing(db: Database) -> None:
    tenant_id = await _tenant(db)
    journal = CallJournal(db)
    tasks, per_task = 8, 15

    async def agent(n: int) -> list[int]:
        ids = []
        for i in range(per_task):
            entry = await journal.append(
                db, tenant_id=tenant_id, event="READY", data={"task": n, "i": i}
            )
            ids.append(entry.id)
            await asyncio.sleep(0)  # on purpose: let the other tasks interleave
        return ids

    results = await asyncio.gather(*(agent(n) for n in range(tasks)))
    lines = await journal.events_after(0, limit=10_000)
    assert len(lines) == tasks * per_task
    assert sorted(i for ids in results for i in ids) == [e.id for e in lines]
    for n in range(tasks):
        # Each task's own lines keep the order it wrote them in.
        assert [e.data["i"] for e in lines if e.data["task"] == n] == list(range(per_task))


async def test_concurrent_units_of_work_keep_calls_and_lines_together(db: Database) -> None:
    tenant_id = await _tenant(db)
    calls, journal = CallRecords(db), CallJournal(db)

    async def call_actor(n: int) -> None:
        async with db.transaction() as tx:
            call = await add_call(
                tx,
                tenant_id=tenant_id,
                channel_id=f"c{n}",
                direction=Direction.INBOUND,
                from_number="1",
                to_number="2",
                started_at=T0,
            )
            await journal.append(tx, tenant_id=tenant_id, call_id=call.id, event="StasisStart")
            await asyncio.sleep(0)  # on purpose: let the other units of work interleave
            await journal.append(tx, tenant_id=tenant_id, call_id=call.id, event="ENTERQUEUE")

    await asyncio.gather(*(call_actor(n) for n in range(10)))
    live = await calls.live_calls()
    assert len(live) == 10
    for call in live:
        events = [e.event for e in await journal.events_for_call(call.id)]
        assert events == ["StasisStart", "ENTERQUEUE"]
