"""Alembic environment: runs migrations on SQLite or PostgreSQL through the async drivers."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from pbx_stasis.store.db import Database, normalize_url
from pbx_stasis.store.migrate import modelled
from pbx_stasis.store.schema import load_all_tables

config = context.config
target_metadata = load_all_tables()
# Set by pbx_stasis.store.migrate, which runs us on a connection it already opened.
shared_connection: Connection | None = config.attributes.get("connection")

if shared_connection is None and config.config_file_name is not None:
    # Only the alembic command line configures logging; the application keeps its own.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """`alembic -x url=...`, else the application's own setting (PBX_DATABASE_URL, pbx.toml's
    database.url, or its default), so `alembic` and `pbx migrate` act on the same database."""
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    from pbx_stasis.config import load_settings

    return load_settings().database.url


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=modelled,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=True,
        compare_type=True,
        # Our SQLite connections issue BEGIN themselves, so DDL is transactional there too and a
        # failed upgrade leaves the previous schema intact.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_own_engine() -> None:
    db = Database.connect(database_url(), sqlite_foreign_keys=False)
    try:
        async with db.schema_change() as conn:
            await conn.run_sync(run_migrations)
    finally:
        await db.dispose()


if context.is_offline_mode():
    context.configure(
        url=normalize_url(database_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif shared_connection is not None:
    run_migrations(shared_connection)
else:
    asyncio.run(run_on_own_engine())
