"""Writing down supervision: audit rows (one per mode used) and journal lines, together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from pbx_stasis.store import CallJournal, Database
from pbx_stasis.supervision.tables import SupervisionSegment

SUPERVISE_START = "SUPERVISE_START"
SUPERVISE_SWITCH = "SUPERVISE_SWITCH"
SUPERVISE_END = "SUPERVISE_END"


@dataclass(frozen=True, slots=True)
class Supervised:
    """Who supervises which call: the fixed part of a session, as audit rows repeat it."""

    session_id: str
    tenant_id: int
    call_id: str
    supervisor_user_id: int | None
    supervisor_line: str
    agent_user_id: int | None
    queue: str | None


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """A row of the supervision audit."""

    id: int
    session_id: str
    tenant_id: int
    call_id: str
    supervisor_user_id: int | None
    supervisor_line: str
    agent_user_id: int | None
    mode: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None


def _record(row: SupervisionSegment) -> SegmentRecord:
    return SegmentRecord(
        id=row.id,
        session_id=row.session_id,
        tenant_id=row.tenant_id,
        call_id=row.call_id,
        supervisor_user_id=row.supervisor_user_id,
        supervisor_line=row.supervisor_line,
        agent_user_id=row.agent_user_id,
        mode=row.mode,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


class SupervisionAudit:
    """The supervision audit table plus the SUPERVISE_* lines of the call's journal."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.journal = CallJournal(db)

    def _segment(self, who: Supervised, mode: str, at: datetime) -> SupervisionSegment:
        return SupervisionSegment(
            session_id=who.session_id,
            tenant_id=who.tenant_id,
            call_id=who.call_id,
            supervisor_user_id=who.supervisor_user_id,
            supervisor_line=who.supervisor_line,
            agent_user_id=who.agent_user_id,
            mode=mode,
            started_at=at,
        )

    async def _line(self, tx: Any, who: Supervised, event: str, at: datetime,
                    data: dict[str, Any]) -> None:
        await self.journal.append(
            tx,
            tenant_id=who.tenant_id,
            call_id=who.call_id,
            agent_user_id=who.agent_user_id,
            queue=who.queue,
            event=event,
            at=at,
            data={
                "session": who.session_id,
                "supervisor_user_id": who.supervisor_user_id,
                "line": who.supervisor_line,
                **data,
            },
        )

    async def started(self, who: Supervised, mode: str, at: datetime) -> int:
        """The session is connected in `mode`; returns the id of its first audit row."""
        await self.db.writes.settle()  # the call's row may still be queued
        async with self.db.transaction() as tx:
            row = self._segment(who, mode, at)
            tx.add(row)
            await tx.flush()
            await self._line(tx, who, SUPERVISE_START, at, {"mode": mode})
            return row.id

    async def switched(
        self, who: Supervised, segment_id: int, old: str, new: str, at: datetime, took: float
    ) -> int:
        """Close the row of `old`, open one for `new`; returns the new row's id."""
        async with self.db.transaction() as tx:
            await tx.execute(
                update(SupervisionSegment)
                .where(SupervisionSegment.id == segment_id)
                .values(ended_at=at, end_reason="switched")
            )
            row = self._segment(who, new, at)
            tx.add(row)
            await tx.flush()
            await self._line(
                tx, who, SUPERVISE_SWITCH, at,
                {"from": old, "to": new, "took_ms": round(took * 1000, 1)},
            )
            return row.id

    async def ended(
        self, who: Supervised, segment_id: int | None, mode: str | None, at: datetime,
        reason: str, seconds: float,
    ) -> None:
        """Close the session's last row (None: it never got connected) and journal the end."""
        async with self.db.transaction() as tx:
            if segment_id is not None:
                await tx.execute(
                    update(SupervisionSegment)
                    .where(SupervisionSegment.id == segment_id)
                    .values(ended_at=at, end_reason=reason)
                )
            await self._line(
                tx, who, SUPERVISE_END, at,
                {"mode": mode, "reason": reason, "seconds": round(seconds, 3)},
            )

    async def history(
        self, tenant_id: int, *, call_id: str | None = None, session_id: str | None = None,
        limit: int = 100,
    ) -> list[SegmentRecord]:
        """Audit rows of the tenant, newest first."""
        statement = select(SupervisionSegment).where(SupervisionSegment.tenant_id == tenant_id)
        if call_id is not None:
            statement = statement.where(SupervisionSegment.call_id == call_id)
        if session_id is not None:
            statement = statement.where(SupervisionSegment.session_id == session_id)
        statement = statement.order_by(
            SupervisionSegment.started_at.desc(), SupervisionSegment.id.desc()
        ).limit(limit)
        async with self.db.session() as session:
            return [_record(row) for row in await session.scalars(statement)]
