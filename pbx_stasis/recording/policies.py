"""Queues' recording policies and tenants' recording rules, as stored."""

from __future__ import annotations

from sqlalchemy import select

from pbx_stasis.recording.policy import RecordingPolicy, RecordingRules
from pbx_stasis.recording.tables import RecordingPolicyRow, RecordingRulesRow
from pbx_stasis.store import Database, utc_now


class RecordingPolicies:
    """Reads and changes the recording_policies and recording_rules tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def policy(self, tenant_id: int, queue: str) -> RecordingPolicy:
        """The queue's policy; a queue without one records nothing."""
        statement = select(RecordingPolicyRow).where(
            RecordingPolicyRow.tenant_id == tenant_id, RecordingPolicyRow.queue == queue
        )
        async with self.db.session() as session:
            row = await session.scalar(statement)
        if row is None:
            return RecordingPolicy()
        return RecordingPolicy(row.mode, row.sample_percent)

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
