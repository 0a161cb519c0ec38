"""Callbacks as stored: created by the API and by waiting callers, moved along by the ACD's
journal rows (acd/actions.py's CALLBACK* events), read back after a restart."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update

from pbx_stasis.bus import Bus
from pbx_stasis.callbacks.events import CALLBACK_REQUESTED, CallbackRequested
from pbx_stasis.callbacks.tables import (
    PENDING,
    CallbackRow,
    CallbackSource,
    CallbackStatus,
)
from pbx_stasis.store import CallRecord, CallStatus, Database, Direction, utc_now
from pbx_stasis.store.tables import Call

PREFIX = "cb-"  # every callback's id: the ACD core and the journal know it by this


def new_callback_id() -> str:
    """32 characters, a call id's length (its call record has this id); a call's own id is
    hex, so never begins with the prefix."""
    return PREFIX + secrets.token_hex(15)[:29]


@dataclass(frozen=True)
class Callback:
    """A callback as the API shows it."""

    id: str
    queue: str
    number: str
    contact: str
    source: str
    status: str
    due_at: datetime
    attempts: int
    retry_at: datetime | None
    last_result: str | None
    agent_user_id: int | None
    requested_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: CallbackRow) -> Callback:
        return cls(id=row.id, queue=row.queue, number=row.number, contact=row.contact,
                   source=row.source, status=row.status, due_at=row.due_at,
                   attempts=row.attempts, retry_at=row.retry_at, last_result=row.last_result,
                   agent_user_id=row.agent_user_id, requested_by=row.requested_by,
                   created_at=row.created_at)

    def json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {"id": self.id, "queue": self.queue, "number": self.number,
                "contact": self.contact, "source": self.source, "status": self.status,
                "due_at": when(self.due_at), "attempts": self.attempts,
                "retry_at": when(self.retry_at), "last_result": self.last_result,
                "agent_user_id": self.agent_user_id, "requested_by": self.requested_by,
                "created_at": when(self.created_at)}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def callback_call(callback_id: str, tenant_id: int, queue: str, number: str,
                  started_at: datetime) -> CallRecord:
    """The call record of a callback (an outbound call to `number`): the journal's lines of
    the callback refer to it. Not a live channel, so no restart closes or adopts it: its
    status is `ended` from the start, `answered_at` and `ended_at` say what happened."""
    return CallRecord(
        id=callback_id, tenant_id=tenant_id, channel_id=callback_id, linkedid=None,
        direction=Direction.OUTBOUND, from_number="", to_number=number, started_at=started_at,
        answered_at=None, ended_at=None, hangup_cause=None, hangup_cause_text=None,
        queue=queue, agent_user_id=None, disposition=None, notes=None, status=CallStatus.ENDED)


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A scheduled callback whose time has come."""
    return CallbackRow.status == CallbackStatus.SCHEDULED, CallbackRow.due_at <= now


class CallbackStore:
    """Reads and changes the callbacks table."""

    def __init__(self, db: Database, bus: Bus | None = None) -> None:
        self.db = db
        self.bus = bus  # callback:requested for those it creates (None: nobody listens)

    async def create(self, *, tenant_id: int, queue: str, number: str, contact: str,
                     source: CallbackSource, due_at: datetime, callback_id: str | None = None,
                     status: CallbackStatus = CallbackStatus.SCHEDULED,
                     origin_call_id: str | None = None,
                     requested_by: int | None = None) -> Callback:
        row = CallbackRow(
            id=callback_id or new_callback_id(), tenant_id=tenant_id, queue=queue,
            number=number, contact=contact, source=source.value, status=status.value,
            due_at=due_at, attempts=0, origin_call_id=origin_call_id,
            requested_by=requested_by, created_at=utc_now(), updated_at=utc_now(),
        )
        async with self.db.transaction() as tx:
            tx.add(Call(**callback_call(row.id, tenant_id, queue, number, row.created_at).row()))
            await tx.flush()  # the call first: the callback's journal lines refer to it
            tx.add(row)
        if self.bus is not None:
            self.bus.publish(CALLBACK_REQUESTED, tenant_id, CallbackRequested(
                callback_id=row.id, queue=queue, number=number, contact=contact,
                source=source.value, due_at=due_at, origin_call_id=origin_call_id))
        return Callback.of(row)

    async def asked_since(self, tenant_id: int, number: str, since: datetime) -> int:
        """Callbacks `number` asked for since `since` (any status: a cancelled one counts)."""
        async with self.db.session() as session:
            return int(await session.scalar(
                select(func.count()).select_from(CallbackRow).where(
                    CallbackRow.tenant_id == tenant_id, CallbackRow.number == number,
                    CallbackRow.created_at >= since)) or 0)

    async def get(self, tenant_id: int, callback_id: str) -> Callback | None:
        async with self.db.session() as session:
            row = await session.get(CallbackRow, callback_id)
        return None if row is None or row.tenant_id != tenant_id else Callback.of(row)

    async def listed(self, tenant_id: int, *, queues: Sequence[str] | None = None,
                     agent_user_id: int | None = None, pending: bool = True,
                     limit: int = 200) -> list[Callback]:
        """The tenant's callbacks, soonest first; `queues`/`agent_user_id`: those of these
        queues or reserved for / asked by that agent (an agent's own list)."""
        query = select(CallbackRow).where(CallbackRow.tenant_id == tenant_id)
        if pending:
            query = query.where(CallbackRow.status.in_(sorted(PENDING)))
        if queues is not None or agent_user_id is not None:
            mine: list[ColumnElement[bool]] = [CallbackRow.queue.in_(sorted(queues or ()))]
            if agent_user_id is not None:
                mine += [CallbackRow.agent_user_id == agent_user_id,
                         CallbackRow.requested_by == agent_user_id]
            query = query.where(or_(*mine))
        query = query.order_by(CallbackRow.due_at, CallbackRow.id).limit(limit)
        async with self.db.session() as session:
            rows = (await session.scalars(query)).all()
        return [Callback.of(row) for row in rows]

    async def cancel(self, tenant_id: int, callback_id: str) -> Callback | None:
        """Cancel one not dialled yet: a scheduled one at once, a queued one once the ACD lets
        it go (CANCELLING). None: no such callback of the tenant. Its status says the rest."""
        async with self.db.transaction() as tx:
            row = await tx.get(CallbackRow, callback_id, with_for_update=True)
            if row is None or row.tenant_id != tenant_id:
                return None
            if row.status == CallbackStatus.SCHEDULED:
                row.status = CallbackStatus.CANCELLED
            elif row.status == CallbackStatus.QUEUED:
                row.status = CallbackStatus.CANCELLING
            row.updated_at = utc_now()
            return Callback.of(row)

    # --- the Stasis side --------------------------------------------------------------------

    async def changes(self, now: datetime) -> tuple[bool, list[str]]:
        """What the follower asks every second, in one read: whether a scheduled callback is
        due, and the callbacks being cancelled. The usual answer (neither) takes no write lock
        (on SQLite the call path's writer would wait for it)."""
        async with self.db.session() as session:
            due = await session.scalar(select(CallbackRow.id).where(*_due(now)).limit(1))
            cancelling = (await session.scalars(
                select(CallbackRow.id).where(CallbackRow.status == CallbackStatus.CANCELLING)
            )).all()
        return due is not None, list(cancelling)

    async def due(self, now: datetime) -> list[tuple[int, Callback]]:
        """Scheduled callbacks whose time has come, now marked queued (tenant, callback)."""
        async with self.db.transaction() as tx:
            rows = (await tx.scalars(
                select(CallbackRow).where(*_due(now))
                .order_by(CallbackRow.due_at).limit(500).with_for_update()
            )).all()
            for row in rows:
                row.status = CallbackStatus.QUEUED
                row.updated_at = now
            return [(row.tenant_id, Callback.of(row)) for row in rows]

    async def in_queues(self) -> list[tuple[int, Callback]]:
        """The callbacks the ACD held when the app stopped (queued, dialling, cancelling)."""
        async with self.db.session() as session:
            rows = (await session.scalars(
                select(CallbackRow).where(CallbackRow.status.in_(sorted({
                    CallbackStatus.QUEUED, CallbackStatus.DIALLING, CallbackStatus.CANCELLING})))
                .order_by(CallbackRow.due_at)
            )).all()
        return [(row.tenant_id, Callback.of(row)) for row in rows]

    async def settle_connected(self) -> None:
        """Talks of callbacks cut by a stop: over (the adoption of talks is the calls')."""
        async with self.db.transaction() as tx:
            await tx.execute(update(CallbackRow)
                             .where(CallbackRow.status == CallbackStatus.CONNECTED)
                             .values(status=CallbackStatus.DONE, updated_at=utc_now()))

    async def apply(self, changes: Sequence[Change]) -> None:
        """Apply what the ACD's journal rows said happened, in order, in one transaction."""
        async with self.db.transaction() as tx:
            for change in changes:
                if change.insert is not None:
                    if await tx.get(CallbackRow, change.callback_id) is None:
                        tx.add(change.insert)
                    continue
                row = await tx.get(CallbackRow, change.callback_id)
                if row is None:
                    continue
                for key, value in change.values.items():
                    setattr(row, key, value)
                row.updated_at = utc_now()


@dataclass(frozen=True)
class Change:
    """One journal row's effect on a callback's record."""

    callback_id: str
    values: dict[str, Any]
    insert: CallbackRow | None = None


def change_of(event: str, at: float, call_id: str | None, tenant_id: int, queue: str | None,
              agent_user_id: int | None, data: dict[str, Any]) -> Change | None:
    """What an ACD journal row does to a callback's record (None: nothing)."""
    if event == "CALLBACKREQ" and call_id is not None and queue is not None:
        callback_id = str(data.get("callback"))
        wait = data.get("wait")
        entered = at - (float(wait) if isinstance(wait, int | float) else 0.0)
        row = CallbackRow(
            id=callback_id, tenant_id=tenant_id, queue=queue, number=str(data.get("number")),
            contact="", source=CallbackSource.QUEUE.value, status=CallbackStatus.QUEUED.value,
            due_at=_at(entered), attempts=0, origin_call_id=call_id, created_at=_at(at),
            updated_at=_at(at))
        return Change(callback_id, {}, row)
    if call_id is None or not call_id.startswith(PREFIX):
        return None
    attempt = data.get("attempt")
    if event == "CALLBACKDIAL":
        return Change(call_id, {"status": CallbackStatus.DIALLING, "attempts": attempt,
                                "agent_user_id": agent_user_id, "retry_at": None})
    if event == "CALLBACKCONNECT":
        return Change(call_id, {"status": CallbackStatus.CONNECTED, "last_result": "answered"})
    if event == "CALLBACKFAIL":
        retry_at = data.get("retry_at")
        return Change(call_id, {
            "status": CallbackStatus.FAILED if data.get("final") else CallbackStatus.QUEUED,
            "attempts": attempt, "last_result": str(data.get("reason"))[:32],
            "retry_at": _at(float(retry_at)) if isinstance(retry_at, int | float) else None})
    if event == "CALLBACKCANCEL":
        return Change(call_id, {"status": CallbackStatus.CANCELLED})
    if event == "CALLBACKQUEUED":
        return Change(call_id, {"status": CallbackStatus.QUEUED})
    if event in ("COMPLETECALLER", "COMPLETEAGENT"):
        return Change(call_id, {"status": CallbackStatus.DONE})
    return None
