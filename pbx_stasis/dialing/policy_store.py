"""Tenants' dialling policies as stored, and the check every outside call goes through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from pbx_stasis.dialing.policy import DialPolicy, Verdict, checked_policy
from pbx_stasis.dialing.tables import DialPolicyRow
from pbx_stasis.store import Database, NewEvent, StoreUnavailable, utc_now
from pbx_stasis.store.tables import Role

log = logging.getLogger(__name__)

REFUSED = "DIAL_REFUSED"  # the journal line of a refused outside call
# A read on the call path waits no longer than this (a database that does not answer).
READ_TIMEOUT_S = 1.0


class DialPolicies:
    """Reads and changes the dial_policies table; `home` is the region national numbers are
    read in (settings crm.region) and the one country a tenant without a policy may call."""

    def __init__(self, db: Database, home: str) -> None:
        self.db = db
        self.home = home.upper()
        self._last: dict[int, DialPolicy] = {}  # each tenant's policy as last read or set

    async def policy(self, tenant_id: int, *, last_known_ok: bool = False) -> DialPolicy:
        """The tenant's policy (the default one while an admin has set none).

        Read on every outside call, not cached: a policy tightened after an attack applies to
        the next call, in every process (outside calls are a few per agent per hour). With
        `last_known_ok` (a call waiting on it), a database that cannot be reached within
        READ_TIMEOUT_S gives the policy as last read instead; StoreUnavailable when there is
        none."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_S), self.db.session() as session:
                row = await session.get(DialPolicyRow, tenant_id)
        except (StoreUnavailable, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {READ_TIMEOUT_S:g} s"
            last = self._last.get(tenant_id) if last_known_ok else None
            if last is None:
                raise StoreUnavailable(f"dialling policy of tenant {tenant_id} unreadable: "
                                       f"{reason}") from exc
            log.warning("tenant %d: dialling policy as last read: %s", tenant_id, reason)
            return last
        if row is None:
            policy = DialPolicy.default(self.home)
        else:
            policy = checked_policy({"countries": row.countries, "allow": row.allow,
                                     "block": row.block, "roles": row.roles})
        self._last[tenant_id] = policy
        return policy

    async def set_policy(self, tenant_id: int, policy: DialPolicy, *, by: str) -> None:
        async with self.db.transaction() as tx:
            row = await tx.get(DialPolicyRow, tenant_id)
            if row is None:
                row = DialPolicyRow(tenant_id=tenant_id)
                tx.add(row)
            row.countries = sorted(policy.countries)
            row.allow = sorted(policy.allow)
            row.block = sorted(policy.block)
            row.roles = sorted(r.value for r in policy.roles)
            row.updated_at = utc_now()
            row.updated_by = by[:100]
        self._last[tenant_id] = policy
        log.info("tenant %d: dialling policy set by %s: %s", tenant_id, by, policy_json(policy))

    async def judge(self, tenant_id: int, number: str, *, role: Role | None,
                    last_known_ok: bool = False) -> Verdict:
        """Whether the tenant may dial `number` for someone of `role` (None: no person)."""
        policy = await self.policy(tenant_id, last_known_ok=last_known_ok)
        return policy.judge(number, home=self.home, role=role)

    def journal_refusal(self, tenant_id: int, number: str, verdict: Verdict, *,
                        call_id: str | None = None, agent_user_id: int | None = None,
                        by: str | None = None) -> None:
        """A DIAL_REFUSED line (who, what number, why), queued with the call's other lines."""
        log.warning("tenant %d: outside call to %r by %s refused: %s", tenant_id, number[:64],
                    by or "nobody", verdict.message)
        self.db.writes.append([NewEvent(
            tenant_id=tenant_id, event=REFUSED, call_id=call_id, agent_user_id=agent_user_id,
            data={"number": number[:64], "by": by, **verdict.journal()}, at=utc_now(),
        )])


def policy_json(policy: DialPolicy) -> dict[str, Any]:
    return {"countries": sorted(policy.countries), "allow": sorted(policy.allow),
            "block": sorted(policy.block), "roles": sorted(r.value for r in policy.roles)}


def verdict_json(number: str, verdict: Verdict) -> Mapping[str, Any]:
    return {"number": number, "allowed": verdict.allowed, **verdict.journal()}
