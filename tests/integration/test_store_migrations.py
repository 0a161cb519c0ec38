"""Migrations on SQLite and a real PostgreSQL: empty to head, no drift, down and up again."""

from __future__ import annotations

import asyncio
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


def test_the_alembic_command_line_upgrades_and_finds_no_drift(tmp_path: Path) -> None:
    # The command line runs env.py on its own engine; PostgreSQL goes through the same code (and
    # the same migrations are checked on it above), so SQLite alone keeps this test cheap. Both
    # commands run in one interpreter, as `alembic ...` would, to pay the imports once.
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    ini = REPO_ROOT / "alembic.ini"
    script = (
        "from alembic.config import main\n"
        # The URL from PBX_DATABASE_URL, as the application reads it.
        f"main(['-c', {str(ini)!r}, 'upgrade', 'head'])\n"
        f"main(['-c', {str(ini)!r}, '-x', 'url={db_url}', 'check'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PBX_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,  # no pbx.toml there
        env={**env, "PBX_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


async def test_workers_starting_together_migrate_once(db_url: str) -> None:
    # Several Stasis workers share one PostgreSQL and each upgrades on start.
    # Without the schema lock they interleave inside Alembic and hang: bound the wait.
    await asyncio.wait_for(asyncio.gather(*(upgrade(db_url) for _ in range(3))), 60)
    assert await current(db_url) == head()
    assert await drift(db_url) == []
