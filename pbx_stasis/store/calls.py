"""Call records (the calls table): one row per call, opened live and closed once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from pbx_stasis.store.db import Database, Scope, is_unique_violation, within
from pbx_stasis.store.errors import AlreadyExists
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
    """Opens, updates, closes and finds call records.

    Writes take a scope: the session of a unit of work (`db.transaction()`) to go together with
    journal lines, or the Database for a transaction of their own.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_call(
        self,
        scope: Scope,
        *,
        tenant_id: int,
        channel_id: str,
        direction: Direction,
        from_number: str,
        to_number: str,
        started_at: datetime,
        linkedid: str | None = None,
        queue: str | None = None,
        call_id: str | None = None,
    ) -> CallRecord:
        """Create a live call record; AlreadyExists when the channel already has one."""
        row = Call(
            id=call_id or new_call_id(),
            tenant_id=tenant_id,
            channel_id=channel_id,
            linkedid=linkedid,
            direction=Direction(direction),
            from_number=from_number,
            to_number=to_number,
            started_at=started_at,
            queue=queue,
            status=CallStatus.LIVE,
        )
        async with within(scope) as tx:
            tx.add(row)
            try:
                await tx.flush()
            except IntegrityError as exc:
                if is_unique_violation(exc):
                    raise AlreadyExists(
                        f"a call record already exists for channel {channel_id!r} "
                        f"or call id {row.id!r}"
                    ) from exc
                raise
            return _record(row)

    async def mark_answered(self, scope: Scope, call_id: str, *, answered_at: datetime) -> bool:
        """Record the answer time; False if the call is unknown, ended or already answered."""
        return await self._update(
            scope,
            call_id,
            {"answered_at": answered_at},
            Call.status == CallStatus.LIVE,
            Call.answered_at.is_(None),
        )

    async def set_queue(self, scope: Scope, call_id: str, queue: str | None) -> bool:
        """Record the queue the call is in (None when it left it); False if the call is unknown."""
        return await self._update(scope, call_id, {"queue": queue})

    async def set_agent(self, scope: Scope, call_id: str, agent_user_id: int | None) -> bool:
        """Record the agent handling the call; False if the call is unknown."""
        return await self._update(scope, call_id, {"agent_user_id": agent_user_id})

    async def set_disposition(
        self, scope: Scope, call_id: str, *, disposition: str | None, notes: str | None = None
    ) -> bool:
        """Record the agent's wrap-up (also after the call ended); False if the call is unknown."""
        return await self._update(scope, call_id, {"disposition": disposition, "notes": notes})

    async def close_call(
        self,
        scope: Scope,
        call_id: str,
        *,
        ended_at: datetime,
        cause: int | None = None,
        cause_text: str | None = None,
    ) -> bool:
        """End a live call. Idempotent: returns False, changing nothing, if it is not live."""
        return await self._update(
            scope,
            call_id,
            {
                "ended_at": ended_at,
                "hangup_cause": cause,
                "hangup_cause_text": cause_text,
                "status": CallStatus.ENDED,
            },
            Call.status == CallStatus.LIVE,
        )

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
        """Every call not yet closed, oldest first (to resync with Asterisk after a restart)."""
        statement = select(Call).where(Call.status == CallStatus.LIVE)
        if tenant_id is not None:
            statement = statement.where(Call.tenant_id == tenant_id)
        statement = statement.order_by(Call.started_at, Call.id)
        async with self._db.session() as session:
            return [_record(row) for row in await session.scalars(statement)]

    async def _update(
        self, scope: Scope, call_id: str, values: dict[str, Any], *conditions: Any
    ) -> bool:
        # One conditional UPDATE (no read first): idempotent, and no lost update between a
        # SELECT and an UPDATE when two tasks touch the same call.
        statement = (
            update(Call)
            .where(Call.id == call_id, *conditions)
            .values(**values)
            .returning(Call.id)
            .execution_options(synchronize_session=False)
        )
        async with within(scope) as tx:
            return (await tx.scalar(statement)) is not None
