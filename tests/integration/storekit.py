"""Rows for store tests: a call row written in the caller's unit of work (the app writes calls
through the write-behind queue, which tests of the store's transactions must not go through)."""

from __future__ import annotations

from datetime import datetime

from pbx_stasis.store import CallRecord, CallStatus, Direction, Scope, new_call_id, within
from pbx_stasis.store.tables import Call


async def add_call(
    scope: Scope,
    *,
    tenant_id: int,
    channel_id: str,
    started_at: datetime,
    direction: Direction = Direction.INBOUND,
    from_number: str = "1",
    to_number: str = "2",
) -> CallRecord:
    record = CallRecord(
        id=new_call_id(), tenant_id=tenant_id, channel_id=channel_id, linkedid=None,
        direction=direction, from_number=from_number, to_number=to_number,
        started_at=started_at, answered_at=None, ended_at=None, hangup_cause=None,
        hangup_cause_text=None, queue=None, agent_user_id=None, disposition=None, notes=None,
        status=CallStatus.LIVE,
    )
    async with within(scope) as tx:
        tx.add(Call(**record.row()))
        await tx.flush()
    return record
