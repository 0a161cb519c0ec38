"""Tenants' outbound numbers as stored (the caller_ids table)."""

from __future__ import annotations

import logging

from pbx_stasis.dialing.caller_ids import CallerIds, checked_caller_ids
from pbx_stasis.dialing.tables import CallerIdRow
from pbx_stasis.store import Database, utc_now

log = logging.getLogger(__name__)


class CallerIdStore:
    """Reads and replaces a tenant's outbound numbers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def caller_ids(self, tenant_id: int) -> CallerIds:
        """The tenant's numbers (none until an admin sets some).

        Read on every outside call, not cached: a number given back to the carrier stops being
        presented on the next call, in every process."""
        async with self.db.session() as session:
            row = await session.get(CallerIdRow, tenant_id)
        if row is None:
            return CallerIds()
        return checked_caller_ids({"numbers": row.numbers})

    async def set_caller_ids(self, tenant_id: int, ids: CallerIds, *, by: str) -> None:
        async with self.db.transaction() as tx:
            row = await tx.get(CallerIdRow, tenant_id)
            if row is None:
                row = CallerIdRow(tenant_id=tenant_id)
                tx.add(row)
            row.numbers = ids.json()
            row.updated_at = utc_now()
            row.updated_by = by[:100]
        log.info("tenant %d: outbound numbers set by %s: %s", tenant_id, by,
                 ", ".join(item.number for item in ids.numbers) or "none")
