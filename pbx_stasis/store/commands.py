"""What the features' `pbx` commands share: run one piece of work against a tenant's data, named
by its slug, with a database connection opened and closed around it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Tenant


def for_tenant(url: str, tenant: str, work: Callable[[Database, int], Awaitable[int]]) -> int:
    """`work(db, tenant_id)`'s exit code; 1 with one error line when no tenant has that slug.
    Writes the work queued on the write-behind queue land before the connection closes."""

    async def run() -> int:
        db = Database.connect(url)
        try:
            async with db.session() as session:
                tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == tenant))
            if tenant_id is None:
                print(f"error: no tenant {tenant!r}", file=sys.stderr)
                return 1
            code = await work(db, tenant_id)
            await db.writes.settle()
            return code
        finally:
            await db.dispose()

    return asyncio.run(run())
