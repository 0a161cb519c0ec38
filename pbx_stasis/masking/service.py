"""Number masking as the web side holds it: each tenant's rules (cached a little: they are
read on every answer to a masked role), and the shapes that mask answers, the feed, CSV files
and webhooks. The tenant's own numbers (its caller IDs, its virtual numbers, the trunk's
default) stay whole."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.masking.core import MaskRules, Shape, masker
from pbx_stasis.masking.tables import NumberMasking
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.errors import StoreUnavailable
from pbx_stasis.store.tables import Role
from pbx_stasis.virtualnumbers.service import VirtualNumbers
from pbx_stasis.web.routing import RouteRequest
from pbx_stasis.web.sessions import Principal

RULES_TTL_S = 10.0  # another web process's change applies within this


@dataclass(frozen=True)
class MaskingRecord:
    rules: MaskRules
    updated_at: datetime | None = None
    updated_by: str | None = None


class Masking:
    """Every tenant's masking rules, and the shapes that apply them."""

    def __init__(self, db: Database, own_default: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.own_default = own_default  # the trunk's caller ID ([trunk] caller_id)
        self.clock = clock
        self._kept: dict[int, tuple[float, MaskingRecord, Shape | None]] = {}

    async def record(self, tenant_id: int) -> MaskingRecord:
        return (await self._read(tenant_id))[0]

    async def _read(self, tenant_id: int) -> tuple[MaskingRecord, Shape | None]:
        kept = self._kept.get(tenant_id)
        now = self.clock()
        if kept is not None and kept[0] > now:
            return kept[1], kept[2]
        try:
            async with self.db.session() as session:
                row = await session.get(NumberMasking, tenant_id)
        except StoreUnavailable:
            if kept is None:
                raise
            return kept[1], kept[2]  # the last rules read, while the database is away
        if row is None:
            record = MaskingRecord(MaskRules())
        else:
            record = MaskingRecord(
                MaskRules(frozenset(Role(role) for role in row.roles), row.webhooks),
                row.updated_at, row.updated_by)
        shape = None
        if record.rules.roles or record.rules.webhooks:
            own = {number.number for number in
                   (await CallerIdStore(self.db).caller_ids(tenant_id)).numbers}
            if self.own_default:
                own.add(self.own_default)
            # Its virtual numbers too: they stand for the tenant, never for a customer.
            own.update(entry.number for entry in await VirtualNumbers(self.db).pool(tenant_id))
            shape = masker(own)
        self._kept[tenant_id] = (now + RULES_TTL_S, record, shape)
        return record, shape

    async def save(self, tenant_id: int, rules: MaskRules, by: str) -> MaskingRecord:
        async with self.db.transaction() as session:
            row = await session.get(NumberMasking, tenant_id)
            if row is None:
                row = NumberMasking(tenant_id=tenant_id)
                session.add(row)
            row.roles = sorted(role.value for role in rules.roles)
            row.webhooks = rules.webhooks
            row.updated_at = utc_now()
            row.updated_by = by
        self._kept.pop(tenant_id, None)
        return await self.record(tenant_id)

    def forget(self, tenant_id: int) -> None:
        """Read the tenant's rules and own numbers again at the next answer."""
        self._kept.pop(tenant_id, None)

    async def shape_for(self, who: Principal) -> Shape | None:
        """The mask of what this viewer is sent, or None: they see numbers whole."""
        record, shape = await self._read(who.tenant_id)
        return shape if record.rules.masks(who.role) else None

    async def webhook_shape(self, tenant_id: int) -> Shape | None:
        record, shape = await self._read(tenant_id)
        return shape if record.rules.webhooks else None


MASKING: web.AppKey[Masking] = web.AppKey("masking")


def masking_of(req: RouteRequest) -> Masking:
    return req.http.app[MASKING]


WebhookShape = Callable[[int], Awaitable[Shape | None]]
