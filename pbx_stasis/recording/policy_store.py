"""Queues' recording policies and tenants' recording rules, as stored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import select

from pbx_stasis.recording.policy import RecordingPolicy, RecordingRules
from pbx_stasis.recording.tables import RecordingPolicyRow, RecordingRulesRow
from pbx_stasis.store import Database, StoreUnavailable, utc_now

log = logging.getLogger(__name__)

# How long the recorder trusts a policy it read: one read per queue per second instead of one
# per call (a query was ~7% of the event loop at 50 calls/s). Reads are shared by every
# RecordingPolicies of one Database, and a change through any of them applies at once; a change
# made by another process (the CLI, a split web process) applies to calls connected a second
# later.
POLICY_FRESH_S = 1.0
_Read = dict[tuple[int, str], tuple[float, RecordingPolicy]]
_READ: WeakKeyDictionary[Database, _Read] = WeakKeyDictionary()
# Databases whose every policy was read at once (`load`): while such a database is out, a queue
# not read is known to have no policy, so a call connected during an outage is not taken for a
# recording that failed.
_LOADED: WeakKeyDictionary[Database, bool] = WeakKeyDictionary()
_LAST: WeakKeyDictionary[Database, dict[tuple[int, str], RecordingPolicy]] = WeakKeyDictionary()
# Reads on their way: the calls connected meanwhile wait for the same read (at 50 calls/s, each
# started one of its own, on a connection of its own once the pool's five were taken).
_READING: WeakKeyDictionary[Database, dict[tuple[int, str], asyncio.Future[RecordingPolicy]]] = (
    WeakKeyDictionary())
# A read on the call path waits no longer than this: past it the last policy read is used.
READ_TIMEOUT_S = 1.0


class RecordingPolicies:
    """Reads and changes the recording_policies and recording_rules tables."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self._clock = clock
        self._read = _READ.setdefault(db, {})
        self._last = _LAST.setdefault(db, {})  # every policy as last read or set, for outages
        self._reading = _READING.setdefault(db, {})

    async def policy(self, tenant_id: int, queue: str) -> RecordingPolicy:
        """The queue's policy (as read at most POLICY_FRESH_S ago); a queue without one records
        nothing."""
        known = self.known(tenant_id, queue)
        if known is not None:
            return known
        key, now = (tenant_id, queue), self._clock()
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(self._fetch(key, now))
            reading.add_done_callback(lambda done: self._reading.pop(key, None)
                                      if self._reading.get(key) is done else None)
        return await asyncio.shield(reading)  # a waiter cancelled leaves the read to the others

    def known(self, tenant_id: int, queue: str) -> RecordingPolicy | None:
        """The queue's policy if read less than POLICY_FRESH_S ago (no wait), else None."""
        known = self._read.get((tenant_id, queue))
        if known is not None and self._clock() - known[0] < POLICY_FRESH_S:
            return known[1]
        return None

    async def _fetch(self, key: tuple[int, str], now: float) -> RecordingPolicy:
        tenant_id, queue = key
        statement = select(RecordingPolicyRow).where(
            RecordingPolicyRow.tenant_id == tenant_id, RecordingPolicyRow.queue == queue
        )
        try:
            async with asyncio.timeout(READ_TIMEOUT_S), self.db.session() as session:
                row = await session.scalar(statement)
        except (StoreUnavailable, TimeoutError) as exc:
            # The database is out: the policy as last read (or, after `load`, none) decides.
            reason = str(exc) or f"no answer within {READ_TIMEOUT_S:g} s"
            last = self._last.get(key)
            if last is not None:
                log.warning("recording policy of queue %s as read before: %s", queue, reason)
                return last
            if _LOADED.get(self.db):
                return RecordingPolicy()
            raise StoreUnavailable(f"recording policy of queue {queue} unknown: {reason}"
                                   ) from exc
        policy = RecordingPolicy() if row is None else RecordingPolicy(row.mode, row.sample_percent)
        self._read[key] = (now, policy)
        self._last[key] = policy
        return policy

    async def load(self) -> None:
        """Read every queue's policy (at start), so an outage later still knows them all."""
        async with self.db.session() as session:
            rows = list(await session.scalars(select(RecordingPolicyRow)))
        for row in rows:
            self._last[(row.tenant_id, row.queue)] = RecordingPolicy(row.mode, row.sample_percent)
        _LOADED[self.db] = True

    async def policies(self, tenant_id: int) -> dict[str, RecordingPolicy]:
        """Every queue of the tenant that has a policy, by queue name."""
        statement = (
            select(RecordingPolicyRow)
            .where(RecordingPolicyRow.tenant_id == tenant_id)
            .order_by(RecordingPolicyRow.queue)
        )
        async with self.db.session() as session:
            rows = list(await session.scalars(statement))
        return {row.queue: RecordingPolicy(row.mode, row.sample_percent) for row in rows}

    async def set_policy(self, tenant_id: int, queue: str, policy: RecordingPolicy) -> None:
        async with self.db.transaction() as tx:
            row = await tx.scalar(
                select(RecordingPolicyRow).where(
                    RecordingPolicyRow.tenant_id == tenant_id, RecordingPolicyRow.queue == queue
                )
            )
            if row is None:
                row = RecordingPolicyRow(tenant_id=tenant_id, queue=queue)
                tx.add(row)
            row.mode = policy.mode
            row.sample_percent = policy.sample_percent
            row.updated_at = utc_now()
        self._read.pop((tenant_id, queue), None)
        self._reading.pop((tenant_id, queue), None)  # a read begun before it: not for later calls
        self._last[(tenant_id, queue)] = policy

    async def rules(self, tenant_id: int) -> RecordingRules:
        """The tenant's rules (defaults: keep forever, agents hear nothing)."""
        async with self.db.session() as session:
            row = await session.get(RecordingRulesRow, tenant_id)
        if row is None:
            return RecordingRules()
        return RecordingRules(row.retention_days, row.agents_hear_own)

    async def all_rules(self) -> dict[int, RecordingRules]:
        """Every tenant that has rules, by tenant id (for the retention sweep)."""
        async with self.db.session() as session:
            rows = list(await session.scalars(select(RecordingRulesRow)))
        return {row.tenant_id: RecordingRules(row.retention_days, row.agents_hear_own)
                for row in rows}

    async def set_rules(self, tenant_id: int, rules: RecordingRules) -> None:
        async with self.db.transaction() as tx:
            row = await tx.get(RecordingRulesRow, tenant_id)
            if row is None:
                row = RecordingRulesRow(tenant_id=tenant_id)
                tx.add(row)
            row.retention_days = rules.retention_days
            row.agents_hear_own = rules.agents_hear_own
            row.updated_at = utc_now()
