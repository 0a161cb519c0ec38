"""Shared fixtures. Databases: every `db` test runs on SQLite and on a real PostgreSQL server.

- `backend`: "sqlite" or "postgresql" (the PostgreSQL case carries the `postgres` marker, so
  `-m "not postgres"` runs SQLite only).
- `db_url`: URL of a fresh, empty database (not migrated) on that backend.
- `migrated_db_url`: URL of a fresh database already at the newest migration.
- `db`: a connected `Database` on that database.
- `postgres`: the session's PostgreSQL server (tests/pg.py), started on first use.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# tests/ has no __init__.py: pytest puts this directory on sys.path, so tests/pg.py is `pg`.
from pg import PostgresNotAvailable, PostgresServer
from pg import start as start_postgres

from pbx_stasis.store import Database
from pbx_stasis.store.migrate import upgrade

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
    """Name of a PostgreSQL database migrated once; tests get copies (CREATE DATABASE TEMPLATE)."""
    url = postgres.create_database("pbx_migrated")
    asyncio.run(upgrade(url))
    return url.rsplit("/", 1)[1]


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
    """URL of a fresh database at the newest migration (a copy of the session's template)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "pbx.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    source: str = request.getfixturevalue("postgres_template")
    url = server.create_database("pbx", template=source)
    yield url
    server.drop_database(url)


@pytest.fixture
async def db(migrated_db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(migrated_db_url)
    try:
        yield database
    finally:
        await database.dispose()
