"""Shared fixtures. Databases: every `db` test runs on SQLite and on a real PostgreSQL server.

- `backend`: "sqlite" or "postgresql" (the PostgreSQL case carries the `postgres` marker, so
  `-m "not postgres"` runs SQLite only).
- `db_url`: URL of a fresh, empty database (not migrated) on that backend.
- `migrated_db_url`: URL of an empty database already at the newest migration (on PostgreSQL
  one database per session, emptied before each test: tests that alter the schema use `db_url`).
- `db`: a connected `Database` on that database.
- `postgres`: the session's PostgreSQL server (tests/pg.py), started on first use.
- `postgres_template`: the name of a migrated database no test writes to, to copy.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# tests/ has no __init__.py: pytest puts this directory on sys.path, so tests/pg.py is `pg`.
from pg import PostgresNotAvailable, PostgresServer
from pg import start as start_postgres

# The rules of every run (kinds as markers, skips fail, tracked files untouched): run_rules.py.
from run_rules import (  # noqa: F401
    pytest_collection_modifyitems,
    pytest_make_collect_report,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_sessionstart,
)

from pbx_stasis.store import Database
from pbx_stasis.store.migrate import upgrade

# Which test left an aiohttp client session open, listed at the run's end: session_leaks.py.
pytest_plugins = ["session_leaks"]

# Properties, not timings: no per-example deadline and no "too slow" check, which would fail a
# property run on a busy machine (scripts/test runs the unit tests on the CPU the live ones leave).
settings.register_profile("properties", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("properties")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except PostgresNotAvailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once with the project's migrations; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "pbx.db"
    asyncio.run(upgrade(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    """Name of a database migrated once that no test writes to: a test's database of its own is
    a copy, `postgres.create_database(prefix, template=postgres_template)` (~200 ms)."""
    url = postgres.create_database("pbx_template")
    asyncio.run(upgrade(url))
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def postgres_migrated(postgres: PostgresServer, postgres_template: str) -> str:
    """URL of the session's PostgreSQL database, migrated, emptied before each test (what the
    last test wrote stays there until then: copy `postgres_template`, not this)."""
    return postgres.create_database("pbx_migrated", template=postgres_template)


@pytest.fixture
def pg_url(postgres: PostgresServer, postgres_template: str) -> Iterator[str]:
    """A database of the test's own on the session's PostgreSQL, at the newest migration
    (a copy of `postgres_template`), dropped after the test."""
    url = postgres.create_database("pbx_own", template=postgres_template)
    yield url
    postgres.drop_database(url)


# Emptying the shared database costs ~20 ms; a copy of a migrated template costs ~200 ms (CREATE
# DATABASE checkpoints). Every table but Alembic's, including ones added by later migrations.
EMPTY_ALL_TABLES = """
SET lock_timeout = '5s';
DO $$
DECLARE names text;
BEGIN
    SELECT string_agg(format('%I', tablename), ', ') INTO names
    FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version';
    IF names IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE';
    END IF;
END
$$;
"""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database("pbx_empty")
    yield url
    server.drop_database(url)


@pytest.fixture
def migrated_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database at the newest migration.

    SQLite: a fresh copy of a file migrated once. PostgreSQL: one database for the session,
    emptied before each test (so do not change the schema there: use `db_url` for that).
    """
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "pbx.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url: str = request.getfixturevalue("postgres_migrated")
    server.psql(EMPTY_ALL_TABLES, database=url.rsplit("/", 1)[1])
    yield url


@pytest.fixture
async def db(migrated_db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(migrated_db_url)
    try:
        yield database
    finally:
        await database.dispose()
