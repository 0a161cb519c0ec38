"""Connecting: per-backend settings, and clear one-line errors when the database is not there."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from pg import PostgresServer
from polling import eventually
from sqlalchemy import text

from pbx_stasis.store import Database, StoreError
from pbx_stasis.store.migrate import current, upgrade


async def test_ping_succeeds_on_a_reachable_database(db: Database) -> None:
    await db.ping()


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dirs" / "pbx.db"
    db = Database.connect(f"sqlite:///{path}")
    try:
        await db.ping()
        assert path.parent.is_dir()
        async with db.session() as session:
            settings = [
                (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
        assert settings == ["wal", 1, 5000]
    finally:
        await db.dispose()


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port  # closed on return: nothing listens there


async def test_an_unreachable_server_gives_one_clear_line() -> None:
    db = Database.connect(f"postgresql://pbx:hunter2@127.0.0.1:{_refused_port()}/pbx")
    try:
        with pytest.raises(StoreError) as caught:
            await db.ping()
    finally:
        await db.dispose()
    message = str(caught.value)
    assert message.startswith("cannot reach the database postgresql+asyncpg://pbx:***@127.0.0.1:")
    assert "PBX_DATABASE_URL / database.url" in message
    assert "Connect call failed" in message or "refused" in message.lower()
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.postgres
async def test_a_missing_postgresql_database_is_named(postgres: PostgresServer) -> None:
    url = postgres.url("no_such_db")
    db = Database.connect(url)
    try:
        with pytest.raises(StoreError, match='database "no_such_db" does not exist'):
            await db.ping()
    finally:
        await db.dispose()
    with pytest.raises(StoreError, match=r"cannot migrate .*no_such_db"):
        await upgrade(url)
    with pytest.raises(StoreError, match="cannot read the schema revision"):
        await current(url)


async def _aiosqlite_threads_done() -> None:
    # When sqlite3 cannot open the file, aiosqlite stops its worker thread without waiting for it;
    # the thread must not outlive this test's event loop.
    await eventually(
        lambda: [t for t in threading.enumerate() if "_connection_worker_thread" in t.name],
        until=lambda workers: not workers, every=0.01, what="no aiosqlite thread running")


async def test_a_sqlite_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    (tmp_path / "adir.db").mkdir()
    db = Database.connect(f"sqlite:///{tmp_path}/adir.db")
    try:
        with pytest.raises(
            StoreError, match=r"cannot reach the database .*adir\.db.*unable to open"
        ):
            await db.ping()
    finally:
        await db.dispose()
        await _aiosqlite_threads_done()


def test_a_sqlite_directory_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=r"cannot create the directory .*file/sub/pbx\.db"):
        Database.connect(f"sqlite:///{blocker}/sub/pbx.db")


def test_a_bad_url_is_refused_before_any_connection() -> None:
    with pytest.raises(StoreError, match=r"^PBX_DATABASE_URL / database.url: unsupported"):
        Database.connect("mysql://pbx@db/pbx")
