"""SQLite: the write transactions of one process take turns in Database.transaction(), in the
order they came, rather than in SQLite's busy handler, which polls and serves no queue (a writer
could lose every poll for the whole busy timeout and fail with "database is locked")."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from pbx_stasis.store import Database, StoreUnavailable


async def _table(url: str, busy_ms: int) -> Database:
    db = Database.connect(url, sqlite_busy_ms=busy_ms)
    async with db.schema_change() as conn:
        await conn.execute(text("CREATE TABLE written (n INTEGER)"))
    return db


async def test_writers_of_one_process_go_in_the_order_they_came(tmp_path: Path) -> None:
    db = await _table(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", 2000)
    entered: list[int] = []

    async def write(n: int) -> None:
        async with db.transaction() as tx:
            entered.append(n)
            await tx.execute(text("INSERT INTO written VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.02)  # the lock held over turns of the loop, as under load

    try:
        writers = []
        for n in range(12):
            writers.append(asyncio.create_task(write(n)))
            await asyncio.sleep(0)  # each asks in turn
        await asyncio.gather(*writers)
        async with db.session() as session:
            stored = list(await session.scalars(text("SELECT n FROM written ORDER BY rowid")))
    finally:
        await db.dispose()
    assert entered == list(range(12)) == stored


async def test_a_turn_waits_no_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    db = await _table(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", 300)
    try:
        async with db.transaction():
            began = time.monotonic()
            with pytest.raises(StoreUnavailable, match="database is locked"):
                async with db.transaction():  # its own task holds the lock: never served
                    pass
            assert 0.25 < time.monotonic() - began < 2.0
    finally:
        await db.dispose()


async def test_a_write_while_another_process_holds_the_lock_fails_after_one_wait(
    tmp_path: Path,
) -> None:
    """The BEGIN of every session and transaction runs on the driver in one hop
    (store/db.py `_begin`); a busy one still comes out as the store's error, once."""
    path = tmp_path / "turns.db"
    db = await _table(f"sqlite+aiosqlite:///{path}", 1000)
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer
    try:
        other.execute("BEGIN IMMEDIATE")
        async with db.session() as session:  # a read does not wait for writers (WAL)
            assert list(await session.scalars(text("SELECT n FROM written"))) == []
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="OperationalError: database is locked"):
            async with db.transaction():
                pass
        assert 0.9 < time.monotonic() - began < 1.9  # the busy timeout once, not twice
        other.execute("ROLLBACK")
        async with db.transaction() as tx:  # and the next write goes through
            await tx.execute(text("INSERT INTO written VALUES (1)"))
        async with db.session() as session:
            assert list(await session.scalars(text("SELECT n FROM written"))) == [1]
    finally:
        other.close()
        await db.dispose()
