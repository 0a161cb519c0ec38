"""Schema migrations: run Alembic from the application (upgrade to head, report the revision)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from pbx_stasis.store.db import Database, failure
from pbx_stasis.store.errors import StoreError
from pbx_stasis.store.schema import load_all_tables
from pbx_stasis.store.urls import describe

# Migrations live in the repository next to the package; only checkouts and editable installs
# are supported, so they are found relative to this file.
REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO_ROOT / "migrations"
ALEMBIC_INI = REPO_ROOT / "alembic.ini"

_Step: TypeAlias = Callable[[Config], None]


def alembic_config() -> Config:
    """Alembic's configuration for this repository."""
    if not (MIGRATIONS / "env.py").is_file():
        raise StoreError(
            f"migrations not found at {MIGRATIONS}: run pbx-stasis from its repository checkout "
            "or an editable install (pip install -e .)"
        )
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.is_file() else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest revision in migrations/."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise StoreError(f"no revisions in {MIGRATIONS / 'versions'}")
    return revision


MIGRATION_WAIT_MS = 120_000


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the newest)."""
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision` (`base` empties it)."""
    await _run(url, lambda config: command.downgrade(config, revision))


async def current(url: str) -> str | None:
    """The revision the database at `url` is at, None when it was never migrated."""
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:
        raise failure(f"cannot read the schema revision of {describe(db.url)}", exc) from exc
    finally:
        await db.dispose()


async def drift(url: str) -> list[str]:
    """Differences between the tables in code and the database at `url` (what `alembic check`
    reports); empty when the migrations match the models."""
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(_compare)
    except Exception as exc:
        raise failure(f"cannot compare the schema of {describe(db.url)}", exc) from exc
    finally:
        await db.dispose()


# Made by migrations outside the models, so never compared with them: the transcripts' search
# index (migration 0013: SQLite's FTS5 virtual table and its shadow tables, PostgreSQL's GIN
# index over an expression).
UNMODELLED_PREFIXES = ("transcript_search", "ix_transcript_lines_search")


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether autogenerate compares a database object with the models (`include_name`)."""
    return not (type_ in ("table", "index") and name is not None
                and name.startswith(UNMODELLED_PREFIXES))


def _compare(conn: Connection) -> list[str]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": modelled})
    return [repr(diff) for diff in compare_metadata(context, load_all_tables())]


async def _run(url: str, step: _Step) -> None:
    config = alembic_config()
    # Foreign keys off on SQLite while migrating: batch mode copies tables and would trip them
    # midway. They are checked before committing, and a migration that broke them is undone.
    # Workers starting together wait for the one migrating (the whole upgrade holds the lock).
    db = Database.connect(url, sqlite_foreign_keys=False, sqlite_busy_ms=MIGRATION_WAIT_MS)
    try:
        async with db.schema_change() as conn:
            await conn.run_sync(_in_alembic, config, step)
            if db.backend == "sqlite":
                broken = (await conn.execute(text("PRAGMA foreign_key_check"))).all()
                if broken:
                    raise StoreError(
                        f"migration of {describe(db.url)} would leave rows with dangling "
                        f"foreign keys (undone): {[tuple(row) for row in broken[:5]]}"
                    )
    except Exception as exc:
        raise failure(f"cannot migrate {describe(db.url)}", exc) from exc
    finally:
        await db.dispose()


def _in_alembic(conn: Connection, config: Config, step: _Step) -> None:
    # env.py runs the migrations on this connection instead of opening its own engine.
    config.attributes["connection"] = conn
    step(config)
