"""The recorder reads a queue's policy at most once a second; a change made through the same
database object applies at once, one made by another process after a second."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from pbx_stasis.recording import PolicyMode, RecordingPolicy
from pbx_stasis.recording.policy_store import POLICY_FRESH_S, RecordingPolicies
from pbx_stasis.store import Database, Directory


async def test_policy_reads_are_reused_for_a_second(db: Database, migrated_db_url: str) -> None:
    tenant = (await Directory(db).ensure_default_tenant()).id
    now = [100.0]
    recorder_side = RecordingPolicies(db, clock=lambda: now[0])
    assert await recorder_side.policy(tenant, "sales") == RecordingPolicy()

    # The same process (another RecordingPolicies of the same Database): at once.
    await RecordingPolicies(db).set_policy(tenant, "sales", RecordingPolicy(PolicyMode.ON_DEMAND))
    assert await recorder_side.policy(tenant, "sales") == RecordingPolicy(PolicyMode.ON_DEMAND)

    # Another process (its own Database): after POLICY_FRESH_S.
    other = Database.connect(migrated_db_url)
    try:
        await RecordingPolicies(other).set_policy(tenant, "sales", RecordingPolicy(PolicyMode.ALL))
    finally:
        await other.dispose()
    now[0] += POLICY_FRESH_S / 2
    assert await recorder_side.policy(tenant, "sales") == RecordingPolicy(PolicyMode.ON_DEMAND)
    now[0] += POLICY_FRESH_S
    assert await recorder_side.policy(tenant, "sales") == RecordingPolicy(PolicyMode.ALL)
    assert await recorder_side.policy(tenant, "billing") == RecordingPolicy()


async def test_calls_connected_while_a_read_is_on_its_way_share_it(db: Database) -> None:
    """At 50 calls/s every call connected while the read of an expired policy is on its way
    used to start a read of its own (each on a connection of its own: the pool overflowed)."""
    tenant = (await Directory(db).ensure_default_tenant()).id
    await RecordingPolicies(db).set_policy(tenant, "sales", RecordingPolicy(PolicyMode.ALL))
    reads: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "recording_policies" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        now = [200.0]
        policies = RecordingPolicies(db, clock=lambda: now[0])
        answers = await asyncio.gather(*(policies.policy(tenant, "sales") for _ in range(20)))
        assert answers == [RecordingPolicy(PolicyMode.ALL)] * 20
        assert len(reads) == 1
        now[0] += POLICY_FRESH_S * 2
        await asyncio.gather(*(policies.policy(tenant, "sales") for _ in range(20)))
        assert len(reads) == 2
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
