"""What the `pbx` commands share: one piece of work run with a database connection opened and
closed around it, and the tenant a command names by its slug.

Cheap to import: a feature's cli.py imports this when `pbx` builds its parser, and SQLAlchemy
loads only when a command runs (pbx_stasis.lazy says why).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pbx_stasis.store.db import Database


def with_database(url: str, work: Callable[[Database], Awaitable[int]]) -> int:
    """`work(db)`'s exit code, on the database at `url` (a command's settings.database.url: the
    store is below the configuration)."""
    from pbx_stasis.store.db import Database

    async def run() -> int:
        db = Database.connect(url)
        try:
            return await work(db)
        finally:  # however the work ends: main() makes a known error one line
            await db.dispose()

    return asyncio.run(run())


async def tenant_id(db: Database, slug: str) -> int | None:
    """The id of the tenant `slug` (in any case: slugs are stored in lower case); None when
    there is none, said on stderr as one line, and the command exits 1."""
    from pbx_stasis.store.users import Directory

    tenant = await Directory(db).get_tenant_by_slug(slug)
    if tenant is None:
        print(f"error: no tenant {slug!r}", file=sys.stderr)
        return None
    return tenant.id


def for_tenant(url: str, tenant: str, work: Callable[[Database, int], Awaitable[int]]) -> int:
    """`work(db, tenant_id)`'s exit code; 1 with one error line when no tenant has that slug.
    Writes the work queued on the write-behind queue land before the connection closes."""

    async def found(db: Database) -> int:
        named = await tenant_id(db, tenant)
        if named is None:
            return 1
        code = await work(db, named)
        await db.writes.settle()
        return code

    return with_database(url, found)


def tenant_argument(parser: argparse.ArgumentParser, *, keep_earlier: bool = False) -> None:
    """A command's `--tenant SLUG` (default: the tenant `default`), said the same everywhere.
    `keep_earlier`: for an action under a command that takes `--tenant` itself, so that one
    given before the action is not reset to the default."""
    parser.add_argument("--tenant", default=argparse.SUPPRESS if keep_earlier else "default",
                        help="tenant slug (default: default)")
