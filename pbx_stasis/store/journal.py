"""The journal (call_events): append-only history of every call and agent state change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database, Scope, within
from pbx_stasis.store.tables import CallEvent


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A line to append; `at` defaults to now (UTC, microseconds)."""

    tenant_id: int
    event: str
    call_id: str | None = None
    agent_user_id: int | None = None
    queue: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A line of the journal as stored; `id` orders the journal."""

    id: int
    at: datetime
    tenant_id: int
    call_id: str | None
    agent_user_id: int | None
    queue: str | None
    event: str
    data: dict[str, Any]


def _entry(row: CallEvent) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        at=row.at,
        tenant_id=row.tenant_id,
        call_id=row.call_id,
        agent_user_id=row.agent_user_id,
        queue=row.queue,
        event=row.event,
        data=dict(row.data),
    )


class CallJournal:
    """Appends to and reads call_events. There is no way to change or remove a line."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        scope: Scope,
        *,
        tenant_id: int,
        event: str,
        call_id: str | None = None,
        agent_user_id: int | None = None,
        queue: str | None = None,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> JournalEntry:
        """Append one line, in the caller's transaction (a session) or a new one (the Database)."""
        new = NewEvent(tenant_id, event, call_id, agent_user_id, queue, data or {}, at)
        (entry,) = await self.append_many(scope, [new])
        return entry

    async def append_many(self, scope: Scope, events: Sequence[NewEvent]) -> list[JournalEntry]:
        """Append several lines in one statement, in the given order; returns them with ids."""
        if not events:
            return []
        stamped = [(e, e.at if e.at is not None else utc_now()) for e in events]
        rows = [
            {
                "at": at,
                "tenant_id": e.tenant_id,
                "call_id": e.call_id,
                "agent_user_id": e.agent_user_id,
                "queue": e.queue,
                "event": e.event,
                "data": dict(e.data),
            }
            for e, at in stamped
        ]
        statement = insert(CallEvent).returning(CallEvent.id, sort_by_parameter_order=True)
        async with within(scope) as tx:
            ids = (await tx.scalars(statement, rows)).all()
        return [
            JournalEntry(
                id=id_,
                at=at,
                tenant_id=e.tenant_id,
                call_id=e.call_id,
                agent_user_id=e.agent_user_id,
                queue=e.queue,
                event=e.event,
                data=dict(e.data),
            )
            for id_, (e, at) in zip(ids, stamped, strict=True)
        ]

    async def events_for_call(self, call_id: str) -> list[JournalEntry]:
        """Every line of one call, oldest first."""
        statement = select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)
        async with self._db.session() as session:
            return [_entry(row) for row in await session.scalars(statement)]

    async def events_after(
        self, after_id: int, *, limit: int = 1000, tenant_id: int | None = None
    ) -> list[JournalEntry]:
        """Up to `limit` lines with an id above `after_id`, oldest first (to fold read models).

        On PostgreSQL ids are handed out at insert time, so a transaction still open may commit a
        lower id later: tail the bus for live updates, use this to rebuild from history.
        """
        statement = select(CallEvent).where(CallEvent.id > after_id)
        if tenant_id is not None:
            statement = statement.where(CallEvent.tenant_id == tenant_id)
        statement = statement.order_by(CallEvent.id).limit(limit)
        async with self._db.session() as session:
            return [_entry(row) for row in await session.scalars(statement)]
