"""SQLite: the BEGIN of every session and transaction runs on the driver in one hop
(store/db.py `_begin`); what fails there still comes out as the store's error, once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from pbx_stasis.store import Database, StoreUnavailable


async def _database(path: Path, busy_ms: int) -> Database:
    db = Database.connect(f"sqlite+aiosqlite:///{path}", sqlite_busy_ms=busy_ms)
    async with db.schema_change() as conn:
        await conn.execute(text("CREATE TABLE written (n INTEGER)"))
    return db


async def test_a_write_while_another_process_holds_the_lock_fails_after_one_wait(
    tmp_path: Path,
) -> None:
    path = tmp_path / "begin.db"
    db = await _database(path, 1000)
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
