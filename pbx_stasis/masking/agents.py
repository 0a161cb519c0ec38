"""Number masking on the Stasis side: which agents' phones are rung with callers' numbers
masked (their tenant masks numbers for their role). An offer is dialled in the ACD owner's own
turn, so it never waits on the database: the set is kept in memory and read again every
REFRESH_S (a change on the integrations page reaches the phones within that)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from pbx_stasis.crm.phones import mask_number
from pbx_stasis.masking.core import masked_leg_caller_id
from pbx_stasis.masking.tables import NumberMasking
from pbx_stasis.store import Database
from pbx_stasis.store.polling import Polling
from pbx_stasis.store.tables import Role, User

log = logging.getLogger(__name__)

REFRESH_S = 2.0


class MaskedAgents:
    """The users whose phones must not be shown callers' numbers whole."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.users: frozenset[int] = frozenset()
        self._polling = Polling(self._reload, REFRESH_S, "masked agents")

    def masks(self, user_id: int) -> bool:
        return user_id in self.users

    def shown(self, user_id: int, number: str) -> str:
        """`number` as this user's phone may show it: masked, or whole."""
        return mask_number(number) if self.masks(user_id) else number

    def caller_id(self, user_id: int, caller: str, via: str | None,
                  callback: str | None) -> str | None:
        """What this user's phone is rung with for `caller` when it is masked for them (None:
        whole, the ACD's own caller ID)."""
        if not self.masks(user_id):
            return None
        return masked_leg_caller_id(caller, via=via, callback=callback)

    async def read(self) -> frozenset[int]:
        async with self.db.session() as session:
            rules = {row.tenant_id: frozenset(Role(role) for role in row.roles)
                     for row in await session.scalars(select(NumberMasking)) if row.roles}
            if not rules:
                return frozenset()
            rows = await session.execute(select(User.id, User.tenant_id, User.role).where(
                User.tenant_id.in_(list(rules))))
            return frozenset(user_id for user_id, tenant_id, role in rows.all()
                             if Role(role) in rules[tenant_id])

    async def start(self) -> None:
        await self._polling.start()

    async def stop(self) -> None:
        await self._polling.stop()

    async def _reload(self) -> None:
        self.users = await self.read()
