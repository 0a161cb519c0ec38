"""The write-behind queue of the call path (store/writer.py) on real SQLite and PostgreSQL:
bursts in few transactions, each call's changes in order, a refused row dropped alone, and
writes kept through a database outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from polling import eventually

from pbx_stasis.bus import Bus
from pbx_stasis.calls.records import CallLog
from pbx_stasis.store import (
    CallJournal,
    CallRecords,
    CallStatus,
    Database,
    Direction,
    Directory,
    NewEvent,
)


async def _open(log: CallLog, tenant_id: int, channel: str) -> Any:
    return await log.open(tenant_id=tenant_id, channel_id=channel, direction=Direction.INBOUND,
                          from_number="+15551230000", to_number="+15550001")


async def test_a_burst_of_calls_is_stored_in_few_transactions_each_call_in_order(
    db: Database,
) -> None:
    tenant_id = (await Directory(db).ensure_default_tenant()).id
    agent = await Directory(db).add_user("default", "alice", "agent")
    log = CallLog(db, Bus())
    # The writer's own count: on SQLite it runs its statements on the driver, which
    # SQLAlchemy's commit events do not see.
    began = db.writes.transactions

    # 200 calls whose steps interleave, as many call tasks do under load.
    records = [await _open(log, tenant_id, f"chan-{n}") for n in range(200)]
    answered = [await log.answered(r) for r in records]
    for record in answered:
        await log.note(record, "ENTERQUEUE", {"position": 1}, queue="sales")
        log.set_queue(record, "sales")
        log.set_agent(record, agent.id)
    assert await log.answered(answered[0]) is answered[0]  # a second answer changes nothing
    for record in answered[:150]:
        assert await log.close(record, cause=16, cause_text="Normal Clearing", hung_up_by="caller")
    assert not await log.close(answered[0], cause=1, cause_text="again", hung_up_by="app")
    await db.writes.settle()

    transactions = db.writes.transactions - began
    assert 1 <= transactions <= 3, f"{transactions} transactions for one burst"
    stored = {r.channel_id: r for r in await CallRecords(db).live_calls()}
    assert len(stored) == 50
    first = await CallRecords(db).get(answered[0].id)
    assert first is not None and first.status is CallStatus.ENDED
    assert (first.hangup_cause, first.queue, first.agent_user_id) == (16, "sales", agent.id)
    assert first.answered_at == answered[0].answered_at
    lines = [e.event for e in await CallJournal(db).events_for_call(answered[0].id)]
    assert lines == ["CALLSTART", "ANSWER", "ENTERQUEUE", "CALLEND"]
    still_live = stored["chan-199"]
    assert still_live.status is CallStatus.LIVE and still_live.answered_at is not None


async def test_a_row_the_database_refuses_is_dropped_alone(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    tenant_id = (await Directory(db).ensure_default_tenant()).id
    log = CallLog(db, Bus())
    await _open(log, tenant_id, "dup")
    await db.writes.settle()

    with caplog.at_level(logging.ERROR, logger="pbx_stasis.store.writer"):
        duplicate = await _open(log, tenant_id, "dup")  # the channel already has a record
        other = await _open(log, tenant_id, "fine")
        await log.note(other, "ENTERQUEUE")
        await db.writes.settle()

    assert await CallRecords(db).get(duplicate.id) is None
    assert [e.event for e in await CallJournal(db).events_for_call(other.id)] == [
        "CALLSTART", "ENTERQUEUE",
    ]
    assert f"new call {duplicate.id}" in caplog.text and "refused" in caplog.text
    assert len(await CallRecords(db).live_calls()) == 2


@contextlib.contextmanager
def _outage(backend: str, url: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """The database unreachable for writes: SQLite locked by another process's transaction,
    PostgreSQL stopped."""
    if backend == "sqlite":
        holder = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("COMMIT")
            holder.close()
    else:
        server = request.getfixturevalue("postgres")
        server.halt()
        try:
            yield
        finally:
            server.resume()


async def test_writes_are_kept_through_an_outage_and_stored_after_it(
    backend: str, migrated_db_url: str, request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = Database.connect(migrated_db_url, sqlite_busy_ms=100)
    try:
        tenant_id = (await Directory(db).ensure_default_tenant()).id
        log = CallLog(db, Bus())
        db.writes.retry = (0.1, 0.5)
        with caplog.at_level(logging.WARNING, logger="pbx_stasis.store.writer"):
            with _outage(backend, migrated_db_url, request):
                records = [await _open(log, tenant_id, f"c{n}") for n in range(20)]
                await eventually(lambda: db.writes.outage, within=20)
                for record in records[:10]:
                    await log.close(record, cause=16, cause_text="Normal", hung_up_by="caller")
                assert db.writes.pending == 60  # 20 rows, 20 CALLSTART, 10 updates, 10 CALLEND
            async with asyncio.timeout(30):
                await db.writes.settle()
        assert not db.writes.outage and db.writes.pending == 0
        assert "database unreachable" in caplog.text and "kept for later" in caplog.text
        assert "reachable again" in caplog.text
        live = await CallRecords(db).live_calls()
        assert sorted(r.channel_id for r in live) == sorted(f"c{n}" for n in range(10, 20))
        ended = [e for e in await CallJournal(db).events_after(0) if e.event == "CALLEND"]
        assert len(ended) == 10
    finally:
        await db.dispose()


async def test_settle_does_not_wait_for_an_outage_to_end(
    backend: str, migrated_db_url: str, request: pytest.FixtureRequest
) -> None:
    """A stop or a supervisor's request that settles the queue is not held up by an outage: it
    returns once a try fails; the writes stay queued, and a settle after the outage asks for a
    try at once (no waiting out the backoff)."""
    db = Database.connect(migrated_db_url, sqlite_busy_ms=100)
    try:
        tenant_id = (await Directory(db).ensure_default_tenant()).id
        log = CallLog(db, Bus())
        db.writes.retry = (20.0, 20.0)
        with _outage(backend, migrated_db_url, request):
            await _open(log, tenant_id, "c1")
            async with asyncio.timeout(8):
                await db.writes.settle()
            assert db.writes.outage and db.writes.pending == 2  # the row and its CALLSTART
        async with asyncio.timeout(8):
            await db.writes.settle()
        assert not db.writes.outage and db.writes.pending == 0
        assert [r.channel_id for r in await CallRecords(db).live_calls()] == ["c1"]
    finally:
        await db.dispose()


async def test_on_sqlite_the_driver_stores_what_sqlalchemy_would(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """SQLite bursts skip SQLAlchemy's execution (store/writer.py `_commit_on_driver`); the
    same writes through SQLAlchemy give the same rows, column for column as stored (times,
    enums, JSON), and a value SQLAlchemy refuses (a naive time) is refused and dropped alone."""
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    stored: list[tuple[list[Any], list[Any]]] = []
    for through_sqlalchemy in (False, True):
        path = tmp_path / f"copy-{through_sqlalchemy}.db"
        shutil.copyfile(sqlite_template, path)
        db = Database.connect(f"sqlite+aiosqlite:///{path}")
        try:
            db.writes.on_driver = not through_sqlalchemy
            tenant_id = (await Directory(db).ensure_default_tenant()).id
            agent = await Directory(db).add_user("default", "alice", "agent")
            writes = db.writes
            for n in range(4):
                writes.insert_call({
                    "id": f"call{n}", "tenant_id": tenant_id, "channel_id": f"chan{n}",
                    "linkedid": None, "direction": Direction.INBOUND, "from_number": "+1555",
                    "to_number": "+1666", "started_at": when, "answered_at": None,
                    "ended_at": None, "hangup_cause": None, "hangup_cause_text": None,
                    "queue": None, "agent_user_id": None, "disposition": None, "notes": None,
                    "status": CallStatus.LIVE})
                writes.append([NewEvent(tenant_id=tenant_id, event="CALLSTART",
                                        call_id=f"call{n}", agent_user_id=agent.id, queue="q",
                                        data={"list": [1, "é"], "none": None}, at=when)])
                writes.update_call(f"call{n}", {"queue": "sales", "agent_user_id": agent.id})
                writes.update_call(f"call{n}", {"answered_at": when}, only_live=True,
                                   only_unanswered=True)
                if n % 2:
                    writes.update_call(f"call{n}", {"answered_at": when + timedelta(1)},
                                       only_live=True, only_unanswered=True)
                    writes.update_call(f"call{n}", {
                        "ended_at": when, "hangup_cause": 16, "hangup_cause_text": "Normal",
                        "status": CallStatus.ENDED}, only_live=True)
                    writes.update_call(f"call{n}", {"queue": "late"}, only_live=True)
            writes.update_call("call0", {"ended_at": when.replace(tzinfo=None)})  # refused
            await writes.settle()
        finally:
            await db.dispose()
        with contextlib.closing(sqlite3.connect(path)) as raw:
            stored.append((raw.execute("SELECT * FROM calls ORDER BY id").fetchall(),
                           raw.execute("SELECT * FROM call_events ORDER BY id").fetchall()))
    assert stored[0] == stored[1]
    calls, lines = stored[0]
    assert len(calls) == 4 and len(lines) == 4
    assert calls[1][7:11] == ("2026-01-02 01:04:05.678901", "2026-01-02 01:04:05.678901",
                              "2026-01-02 01:04:05.678901", 16)
    assert calls[0][16] == "live" and calls[0][9] is None and calls[1][16] == "ended"
