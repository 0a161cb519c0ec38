"""Tenants' compliance settings and do-not-call lists as stored, the check every outbound dial
goes through (compliance.judge over what is stored), and the log of refusals (the journal's
DIAL_REFUSED lines, which the dialling policy's refusals share)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from pbx_stasis.dialing.compliance import (
    Attempts,
    ComplianceRules,
    DoNotCall,
    Purpose,
    Ruling,
    checked_rules,
    judge,
    rules_json,
)
from pbx_stasis.dialing.policy_store import REFUSED
from pbx_stasis.dialing.tables import ComplianceRow, DoNotCallRow
from pbx_stasis.store import Database, NewEvent, StoreUnavailable, utc_now
from pbx_stasis.store.db import is_unique_violation
from pbx_stasis.store.tables import CallEvent

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 1.0  # a dial waits no longer than this on the database
MAX_DNC_PAGE = 500
# The lead's own time zone field, by number (given by the leads feature, which imports this).
ZoneLookup = Callable[[int, str], Awaitable[str | None]]


@dataclass(frozen=True)
class DoNotCallEntry:
    number: str
    scope: str  # tenant or global
    reason: str | None
    source: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Refusal:
    """One refused dial as the admin reads it."""

    id: int
    at: datetime
    number: str | None
    by: str | None
    rule: str  # compliance or policy
    reason: str
    message: str
    call_id: str | None


class Compliance:
    """Reads and changes compliance settings and do-not-call lists; judges dials. `home`: the
    region of a tenant without settings (settings crm.region)."""

    def __init__(self, db: Database, home: str, *, zone_of: ZoneLookup | None = None) -> None:
        self.db = db
        self.home = home.upper()
        self.zone_of = zone_of
        self._last: dict[int, ComplianceRules] = {}

    def default_rules(self) -> ComplianceRules:
        return ComplianceRules(region=self.home)

    async def rules(self, tenant_id: int) -> ComplianceRules:
        async with self.db.session() as session:
            row = await session.get(ComplianceRow, tenant_id)
        rules = self.default_rules() if row is None else checked_rules(row.rules)
        self._last[tenant_id] = rules
        return rules

    async def set_rules(self, tenant_id: int, rules: ComplianceRules, *, by: str) -> None:
        async with self.db.transaction() as tx:
            row = await tx.get(ComplianceRow, tenant_id)
            if row is None:
                row = ComplianceRow(tenant_id=tenant_id)
                tx.add(row)
            row.rules = rules_json(rules)
            row.updated_at = utc_now()
            row.updated_by = by[:100]
        self._last[tenant_id] = rules
        log.info("tenant %d: compliance settings set by %s: %s", tenant_id, by,
                 rules_json(rules))

    # --- do-not-call ----------------------------------------------------------------------

    async def on_list(self, tenant_id: int, number: str) -> DoNotCall | None:
        """The do-not-call entry `number` is on (the tenant's first, then the global one)."""
        statement = (select(DoNotCallRow.tenant_id, DoNotCallRow.reason)
                     .where(DoNotCallRow.number == number,
                            or_(DoNotCallRow.tenant_id == tenant_id,
                                DoNotCallRow.tenant_id.is_(None)))
                     .order_by(DoNotCallRow.tenant_id.is_(None)).limit(1))
        async with self.db.session() as session:
            found = (await session.execute(statement)).first()
        if found is None:
            return None
        return DoNotCall(number, "tenant" if found[0] is not None else "global", found[1])

    async def add(self, tenant_id: int | None, entries: Iterable[tuple[str, str | None]], *,
                  source: str, by: str) -> tuple[int, int]:
        """Put numbers (E.164, with a reason) on the tenant's list (None: the global one);
        (added, already there)."""
        wanted = {number: reason for number, reason in entries}
        if not wanted:
            return 0, 0
        try:
            added, present = await self._add(tenant_id, wanted, source=source, by=by)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            # Someone added one of them meanwhile: what is there now is read again.
            added, present = await self._add(tenant_id, wanted, source=source, by=by)
        log.info("tenant %s: %d number(s) put on the do-not-call list by %s (%s)",
                 tenant_id if tenant_id is not None else "global", added, by, source)
        return added, present

    async def _add(self, tenant_id: int | None, wanted: Mapping[str, str | None], *,
                   source: str, by: str) -> tuple[int, int]:
        scope = (DoNotCallRow.tenant_id.is_(None) if tenant_id is None
                 else DoNotCallRow.tenant_id == tenant_id)
        async with self.db.transaction() as tx:
            present: set[str] = set()
            numbers = list(wanted)
            for start in range(0, len(numbers), 500):  # bounded IN lists
                chunk = numbers[start:start + 500]
                present |= set(await tx.scalars(select(DoNotCallRow.number).where(
                    scope, DoNotCallRow.number.in_(chunk))))
            now = utc_now()
            tx.add_all(DoNotCallRow(tenant_id=tenant_id, number=number,
                                    reason=(reason or None) and reason[:200], source=source,
                                    added_by=by[:100], added_at=now)
                       for number, reason in wanted.items() if number not in present)
        return len(wanted) - len(present), len(present)

    async def remove(self, tenant_id: int | None, number: str) -> bool:
        scope = (DoNotCallRow.tenant_id.is_(None) if tenant_id is None
                 else DoNotCallRow.tenant_id == tenant_id)
        async with self.db.transaction() as tx:
            result = await tx.execute(delete(DoNotCallRow).where(
                scope, DoNotCallRow.number == number).returning(DoNotCallRow.id))
            return result.first() is not None

    async def entries(self, tenant_id: int | None, *, number: str = "", limit: int = 100,
                      offset: int = 0) -> tuple[list[DoNotCallEntry], int]:
        """A page of the tenant's list (None: the global one), numbers starting with `number`;
        with the list's size."""
        scope = (DoNotCallRow.tenant_id.is_(None) if tenant_id is None
                 else DoNotCallRow.tenant_id == tenant_id)
        where = [scope]
        if number:
            where.append(DoNotCallRow.number.startswith(number, autoescape=True))
        async with self.db.session() as session:
            total = await session.scalar(select(func.count()).select_from(DoNotCallRow)
                                         .where(*where)) or 0
            rows = await session.scalars(select(DoNotCallRow).where(*where)
                                         .order_by(DoNotCallRow.number)
                                         .limit(min(limit, MAX_DNC_PAGE)).offset(offset))
            return [DoNotCallEntry(row.number, "global" if row.tenant_id is None else "tenant",
                                   row.reason, row.source, row.added_by, row.added_at)
                    for row in rows], total

    # --- the check ------------------------------------------------------------------------

    async def check(self, tenant_id: int, number: str, *, purpose: Purpose,
                    now: datetime | None = None, attempts: Attempts | None = None,
                    field_zone: str | None = None) -> Ruling:
        """compliance.judge on a dial of `number` (E.164) with what is stored. A dial never
        waits on the database longer than READ_TIMEOUT_S; when the lists cannot be read the
        dial is refused (`unavailable`): a do-not-call list that cannot be checked is not
        taken as empty."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                rules = await self.rules(tenant_id)
                listed = await self.on_list(tenant_id, number)
                if field_zone is None and self.zone_of is not None and rules.hours is not None:
                    field_zone = await self.zone_of(tenant_id, number)
        except (StoreUnavailable, TimeoutError) as exc:
            log.warning("tenant %d: compliance of a dial to %s unreadable: %s", tenant_id,
                        number, exc or f"no answer within {READ_TIMEOUT_S:g} s")
            return Ruling(False, "unavailable",
                          "the do-not-call list cannot be checked now; try again shortly")
        return judge(number, rules=rules, now=now or utc_now(), purpose=purpose,
                     do_not_call=listed, field_zone=field_zone, attempts=attempts)

    def journal_refusal(self, tenant_id: int, number: str, ruling: Ruling, *,
                        call_id: str | None = None, agent_user_id: int | None = None,
                        by: str | None = None) -> None:
        """A DIAL_REFUSED line (who, what number, which rule, why), as the policy's refusals."""
        log.warning("tenant %d: dial to %s by %s refused: %s", tenant_id, number[:64],
                    by or "nobody", ruling.message)
        self.db.writes.append([NewEvent(
            tenant_id=tenant_id, event=REFUSED, call_id=call_id, agent_user_id=agent_user_id,
            data={"number": number[:64], "dial": number[:64], "by": by, **ruling.journal()},
            at=utc_now(),
        )])

    async def refusals(self, tenant_id: int, *, limit: int = 100,
                       before: int | None = None) -> list[Refusal]:
        """The tenant's refused dials, newest first (`before`: an id, for the next page)."""
        statement = (select(CallEvent).where(CallEvent.tenant_id == tenant_id,
                                             CallEvent.event == REFUSED)
                     .order_by(CallEvent.id.desc()).limit(limit))
        if before is not None:
            statement = statement.where(CallEvent.id < before)
        async with self.db.session() as session:
            rows: Sequence[CallEvent] = list(await session.scalars(statement))
        return [_refusal(row) for row in rows]


def _refusal(row: CallEvent) -> Refusal:
    data: dict[str, Any] = row.data or {}
    return Refusal(id=row.id, at=row.at, number=data.get("dial") or data.get("number"),
                   by=data.get("by"), rule=str(data.get("rule") or "policy"),
                   reason=str(data.get("reason") or ""), message=str(data.get("message") or ""),
                   call_id=row.call_id)
