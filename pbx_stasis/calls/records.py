"""A call's record and journal lines, written together so no change is ever half-stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from pbx_stasis.bus import Bus
from pbx_stasis.store import CallRecord, CallRecords, Database, Direction, Journal, utc_now


class CallLog:
    """Opens, annotates and closes call records; every change is also a journal line and a
    bus event, in one transaction."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus
        self.records = CallRecords(db)
        self.journal = Journal(db)

    async def open(
        self,
        *,
        tenant_id: int,
        channel_id: str,
        direction: Direction,
        from_number: str,
        to_number: str,
        linkedid: str | None = None,
        data: Mapping[str, Any] | None = None,
        call_id: str | None = None,
    ) -> CallRecord:
        now = utc_now()
        async with self.db.transaction() as tx:
            record = await self.records.open_call(
                tx,
                tenant_id=tenant_id,
                channel_id=channel_id,
                direction=direction,
                from_number=from_number,
                to_number=to_number,
                started_at=now,
                linkedid=linkedid,
                call_id=call_id,
            )
            await self.journal.append(
                tx,
                tenant_id=tenant_id,
                call_id=record.id,
                event="CALLSTART",
                at=now,
                data={
                    "channel": channel_id,
                    "from": from_number,
                    "to": to_number,
                    "direction": str(direction),
                    **(data or {}),
                },
            )
        self._publish("call:state", record, state="ivr")
        return record

    async def note(
        self,
        record: CallRecord,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        agent_user_id: int | None = None,
    ) -> None:
        await self.journal.append(
            self.db,
            tenant_id=record.tenant_id,
            call_id=record.id,
            event=event,
            queue=queue,
            agent_user_id=agent_user_id,
            data=data or {},
        )

    async def answered(self, record: CallRecord) -> CallRecord:
        """Record the answer (first one wins); returns the record as it now is."""
        now = utc_now()
        async with self.db.transaction() as tx:
            if await self.records.mark_answered(tx, record.id, answered_at=now):
                await self.journal.append(
                    tx, tenant_id=record.tenant_id, call_id=record.id, event="ANSWER", at=now
                )
                record = replace(record, answered_at=now)
        self._publish("call:state", record, state="ivr")
        return record

    async def close(
        self,
        record: CallRecord,
        *,
        cause: int | None,
        cause_text: str | None,
        hung_up_by: str,
        ended_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        """Close the record (idempotent: a second close changes nothing and writes no line)."""
        ended = ended_at or utc_now()
        async with self.db.transaction() as tx:
            closed = await self.records.close_call(
                tx, record.id, ended_at=ended, cause=cause, cause_text=cause_text
            )
            if closed:
                await self.journal.append(
                    tx,
                    tenant_id=record.tenant_id,
                    call_id=record.id,
                    event="CALLEND",
                    at=ended,
                    data={
                        "cause": cause,
                        "cause_text": cause_text,
                        "by": hung_up_by,
                        **(data or {}),
                    },
                )
        if closed:
            self._publish("call:ended", record, state="ended", cause=cause, by=hung_up_by)
        return closed

    def _publish(self, topic: str, record: CallRecord, **extra: Any) -> None:
        # The LiveCall shape of web/services.py: the feed forwards it to the pages as is.
        self.bus.publish(
            topic,
            record.tenant_id,
            {"call_id": record.id, "direction": str(record.direction),
             "from_number": record.from_number, "to_number": record.to_number,
             "started_at": record.started_at.isoformat(),
             "answered_at": record.answered_at.isoformat() if record.answered_at else None,
             "queue": record.queue, "agent_user_id": record.agent_user_id,
             "held": False, "muted": False, **extra},
        )
