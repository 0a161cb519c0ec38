"""Call records (the calls table): one row per call, opened live and closed once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select

from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call record as stored."""

    id: str
    tenant_id: int
    channel_id: str
    linkedid: str | None
    direction: Direction
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    queue: str | None
    agent_user_id: int | None
    disposition: str | None
    notes: str | None
    status: CallStatus

    def row(self) -> dict[str, Any]:
        """The record as a calls row (the fields are named after the columns)."""
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(CallRecord))


def _record(row: Call) -> CallRecord:
    return CallRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        channel_id=row.channel_id,
        linkedid=row.linkedid,
        direction=row.direction,
        from_number=row.from_number,
        to_number=row.to_number,
        started_at=row.started_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        hangup_cause=row.hangup_cause,
        hangup_cause_text=row.hangup_cause_text,
        queue=row.queue,
        agent_user_id=row.agent_user_id,
        disposition=row.disposition,
        notes=row.notes,
        status=row.status,
    )


def new_call_id() -> str:
    """A fresh call id (uuid4 hex)."""
    return uuid.uuid4().hex


class CallRecords:
    """Finds call records. They are written by the call path through the database's
    write-behind queue (calls/records.py CallLog, store/writer.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, call_id: str) -> CallRecord | None:
        """The call record with this call id."""
        async with self._db.session() as session:
            row = await session.get(Call, call_id)
            return _record(row) if row is not None else None

    async def get_by_channel(self, channel_id: str) -> CallRecord | None:
        """The call record opened for this ARI channel."""
        async with self._db.session() as session:
            row = await session.scalar(select(Call).where(Call.channel_id == channel_id))
            return _record(row) if row is not None else None

    async def live_calls(self, tenant_id: int | None = None) -> list[CallRecord]:
        """Every call not yet closed, oldest first (to resync with Asterisk after a restart, and
        the live calls' list: this process's calls still queued for writing are in it)."""
        await self._db.writes.settle()
        statement = select(Call).where(Call.status == CallStatus.LIVE)
        if tenant_id is not None:
            statement = statement.where(Call.tenant_id == tenant_id)
        statement = statement.order_by(Call.started_at, Call.id)
        async with self._db.session() as session:
            return [_record(row) for row in await session.scalars(statement)]
