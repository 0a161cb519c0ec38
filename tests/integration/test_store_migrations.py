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

from pbx_stasis.store import CallJournal, Database, Directory, StoreError
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


async def test_names_that_differ_only_in_case_are_lowered_and_kept_apart(db_url: str) -> None:
    # What `pbx user add` could store before 0007: THROW2 beside throw2, Acme beside acme.
    await upgrade(db_url, "0006")
    db = Database.connect(db_url)
    try:
        async with db.transaction() as tx:
            for slug in ("Acme", "acme", "Globex"):
                await tx.execute(text(
                    "INSERT INTO tenants (name, slug, created_at) "
                    "VALUES (:slug, :slug, CURRENT_TIMESTAMP)"), {"slug": slug})
            for tenant, name in ((1, "THROW2"), (1, "throw2"), (1, "Bob"), (2, "bob"),
                                 (3, "Carol")):
                await tx.execute(text(
                    "INSERT INTO users (tenant_id, username, display_name, role, created_at, "
                    "disabled) VALUES (:tenant, :name, :name, 'agent', CURRENT_TIMESTAMP, :no)"),
                    {"tenant": tenant, "name": name, "no": False})
        await upgrade(db_url)
        async with db.session() as session:
            tenants = (await session.execute(
                text("SELECT id, slug FROM tenants ORDER BY id"))).all()
            users = (await session.execute(
                text("SELECT id, tenant_id, username FROM users ORDER BY id"))).all()
        assert [tuple(row) for row in tenants] == [(1, "acme"), (2, "acme-2"), (3, "globex")]
        assert [tuple(row) for row in users] == [
            (1, 1, "throw2"), (2, 1, "throw2-2"), (3, 1, "bob"), (4, 2, "bob"), (5, 3, "carol")
        ]
        assert await Directory(db).get_tenant_by_slug("ACME") is not None
        with pytest.raises(StoreError, match="lower_case"):
            async with db.transaction() as tx:
                await tx.execute(text("UPDATE users SET username = 'Carol' WHERE id = 5"))
        assert await drift(db_url) == []
        await downgrade(db_url, "0006")
        await upgrade(db_url)
    finally:
        await db.dispose()


async def test_agents_quarters_rolled_before_0026_are_added_up_into_their_days(
        db_url: str) -> None:
    await upgrade(db_url, "0024")
    db = Database.connect(db_url)
    tally = ("offered, answered, missed, transfers, handled, talk, wrapup, paused, busy, "
             "available, outbound_placed, outbound_connected, outbound_talk, outbound_wrapup")
    try:
        async with db.transaction() as tx:
            await tx.execute(text("INSERT INTO tenants (name, slug, created_at) "
                                  "VALUES ('acme', 'acme', CURRENT_TIMESTAMP)"))
            for start, agent, talk in (("2026-11-23 23:45:00", 7, 10.5),
                                       ("2026-11-24 00:00:00", 7, 20.0),
                                       ("2026-11-24 23:45:00", 7, 30.0),
                                       ("2026-11-24 12:00:00", 8, 1.0)):
                await tx.execute(text(
                    f"INSERT INTO report_agent_quarters (tenant_id, start, agent_user_id, {tally})"
                    " VALUES (1, :start, :agent, 1, 1, 0, 0, 1, :talk, 2, 0, 3, 4, 0, 0, 0, 0)"),
                    {"start": datetime.fromisoformat(start).replace(tzinfo=UTC), "agent": agent,
                     "talk": talk})
        await upgrade(db_url)
        async with db.session() as session:
            days = (await session.execute(text(
                "SELECT day, agent_user_id, offered, talk, busy FROM report_agent_days "
                "ORDER BY day, agent_user_id"))).all()
        assert [(str(day)[:10], agent, offered, talk, busy)
                for day, agent, offered, talk, busy in days] == [
            ("2026-11-23", 7, 1, 10.5, 3.0), ("2026-11-24", 7, 2, 50.0, 6.0),
            ("2026-11-24", 8, 1, 1.0, 3.0)]
        assert await drift(db_url) == []
    finally:
        await db.dispose()


async def test_the_journal_refuses_updates_at_the_database_level(db: Database) -> None:
    tenant = await Directory(db).ensure_default_tenant()
    entry = await CallJournal(db).append(db, tenant_id=tenant.id, event="AGENTLOGIN")
    with pytest.raises(StoreError, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute(
                text("UPDATE call_events SET event = 'FORGED' WHERE id = :id"), {"id": entry.id}
            )
    (kept,) = await CallJournal(db).events_after(0)
    assert kept.event == "AGENTLOGIN"


async def test_the_database_times_are_utc_aware_with_microseconds(db: Database) -> None:
    at = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
    tenant = await Directory(db).ensure_default_tenant()
    await CallJournal(db).append(db, tenant_id=tenant.id, event="PING", at=at)
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
