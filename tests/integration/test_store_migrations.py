"""Migrations on SQLite and a real PostgreSQL: empty to head, no drift, down and up again."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from pbx_stasis.store import Database, Directory, Journal, StoreError
from pbx_stasis.store.migrate import REPO_ROOT, current, downgrade, drift, head, upgrade

TABLES = {"tenants", "users", "calls", "call_events"}


async def _tables(url: str) -> set[str]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await db.dispose()


async def test_an_empty_database_goes_to_head_with_no_drift_and_back(db_url: str) -> None:
    assert await current(db_url) is None

    await upgrade(db_url)
    assert await current(db_url) == head()
    assert TABLES <= await _tables(db_url)
    assert await drift(db_url) == []

    await upgrade(db_url)  # already at head: nothing to do
    assert await current(db_url) == head()

    await downgrade(db_url, "base")
    assert await current(db_url) is None
    assert not TABLES & await _tables(db_url)

    await upgrade(db_url)
    assert await drift(db_url) == []


async def test_the_journal_refuses_updates_at_the_database_level(db: Database) -> None:
    tenant = await Directory(db).ensure_default_tenant()
    entry = await Journal(db).append(db, tenant_id=tenant.id, event="AGENTLOGIN")
    with pytest.raises(StoreError, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute(
                text("UPDATE call_events SET event = 'FORGED' WHERE id = :id"), {"id": entry.id}
            )
    (kept,) = await Journal(db).events_after(0)
    assert kept.event == "AGENTLOGIN"


async def test_the_database_times_are_utc_aware_with_microseconds(db: Database) -> None:
    at = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
    tenant = await Directory(db).ensure_default_tenant()
    await Journal(db).append(db, tenant_id=tenant.id, event="PING", at=at)
    async with db.session() as session:
        stored = (await session.execute(text("SELECT at FROM call_events"))).scalar_one()
    # Raw SQL bypasses the column type: PostgreSQL gives an aware value, SQLite naive UTC text.
    if db.backend == "postgresql":
        assert stored == at
    else:
        assert stored == "2025-06-01 09:30:15.123456"


def _alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "alembic"), "-x", f"url={url}", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PBX_DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_alembic_command_line_upgrades_and_finds_no_drift(db_url: str) -> None:
    upgraded = _alembic("upgrade", "head", url=db_url)
    assert upgraded.returncode == 0, upgraded.stderr
    checked = _alembic("check", url=db_url)
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


async def test_drift_is_reported_when_the_database_differs_from_the_models(db_url: str) -> None:
    await upgrade(db_url)
    db = Database.connect(db_url)
    try:
        async with db.transaction() as tx:
            await tx.execute(text("DROP INDEX ix_calls_status"))
    finally:
        await db.dispose()
    differences = await drift(db_url)
    assert len(differences) == 1
    assert "add_index" in differences[0] and "ix_calls_status" in differences[0]
