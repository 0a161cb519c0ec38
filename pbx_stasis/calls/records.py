"""A call's record and journal lines, queued together on the database's write-behind queue
(store/writer.py): the call path never waits for the disk, and a record and its lines are
stored in one transaction, in the order they happened."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import (
    CALL_ENDED,
    CALL_STATE,
    CallAnswered,
    CallEnded,
    CallStarted,
)
from pbx_stasis.store import (
    CallRecord,
    CallRecords,
    CallStatus,
    Database,
    Direction,
    NewEvent,
    StoreUnavailable,
    new_call_id,
    utc_now,
)

# Call ids closed lately: a second close of the same call writes nothing (any code path closes
# a call within seconds of the first close, far fewer than this many calls apart).
_CLOSED_MEMORY = 10_000
# Counted in place once per call (the stages of live calls are read at scrape time instead:
# center/metrics.py).
STARTED = Counter("pbx_calls_started", "Calls opened, by direction", ["direction"])
ENDED = Counter("pbx_calls_ended", "Calls closed, by who ended them (caller, agent, app, "
                "system, unknown)", ["by"])
# The one read of live calls after a start (those a previous run left) waits no longer than this.
READ_BACK_TIMEOUT_S = 5.0


class CallLog:
    """Opens, annotates and closes call records; every change is also a journal line and a
    bus event. The bus event goes out at once; the rows follow within a burst (~20 ms)."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus
        self.records = CallRecords(db)
        self.writes = db.writes
        self._closed: OrderedDict[str, None] = OrderedDict()
        # This process's live calls by channel: a reconnect resyncs against them, never waiting
        # on the database (which may be out just then).
        self._live: dict[str, CallRecord] = {}
        self._read_back = False  # the live calls a previous run left were read once

    async def live_records(self) -> list[CallRecord]:
        """The live calls: after a start, read once from the database (what a previous run
        left, after this run's queued rows are stored); from then on, this process's own."""
        if not self._read_back:
            try:
                async with asyncio.timeout(READ_BACK_TIMEOUT_S):
                    rows = await self.records.live_calls()  # after this run's queued rows
            except TimeoutError:
                raise StoreUnavailable(
                    f"live calls not read within {READ_BACK_TIMEOUT_S:g} s") from None
            for row in rows:
                if row.id not in self._closed:
                    self._live.setdefault(row.channel_id, row)
            self._read_back = True
        return list(self._live.values())

    def live_now(self) -> list[CallRecord]:
        """This process's live calls as it knows them now (no database read)."""
        return list(self._live.values())

    def track(self, record: CallRecord) -> None:
        """A live call this process handles from now on (adopted after a restart)."""
        self._live[record.channel_id] = record

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
        agent_user_id: int | None = None,
        started_at: datetime | None = None,
    ) -> CallRecord:
        """A new live call; `agent_user_id`: the agent who placed it (outbound); `started_at`
        when it began before it is recorded (a call Asterisk noted while the app was away)."""
        now = started_at or utc_now()
        record = CallRecord(
            id=call_id or new_call_id(), tenant_id=tenant_id, channel_id=channel_id,
            linkedid=linkedid, direction=Direction(direction), from_number=from_number,
            to_number=to_number, started_at=now, answered_at=None, ended_at=None,
            hangup_cause=None, hangup_cause_text=None, queue=None, agent_user_id=agent_user_id,
            disposition=None, notes=None, status=CallStatus.LIVE,
        )
        self.writes.insert_call(record.row())
        self._live[channel_id] = record
        STARTED.labels(str(record.direction)).inc()
        self._emit(record, CallStarted(
            **_live(record), state="ivr", channel_id=channel_id, data=dict(data or {})))
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
        self._line(record, event, utc_now(), data or {}, queue=queue, agent_user_id=agent_user_id)

    async def answered(self, record: CallRecord) -> CallRecord:
        """Record the answer (first one wins); returns the record as it now is."""
        if record.answered_at is not None:
            return record
        now = utc_now()
        self.writes.update_call(record.id, {"answered_at": now}, only_live=True,
                                only_unanswered=True)
        record = replace(record, answered_at=now)
        self._emit(record, CallAnswered(**_live(record), state="ivr"))
        return record

    def set_queue(self, record: CallRecord, queue: str | None) -> None:
        """The queue the call is in (None when it left it)."""
        self.writes.update_call(record.id, {"queue": queue})

    def set_agent(self, record: CallRecord, agent_user_id: int | None) -> None:
        """The agent handling the call."""
        self.writes.update_call(record.id, {"agent_user_id": agent_user_id})

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
        if record.status != CallStatus.LIVE or record.id in self._closed:
            return False
        self._closed[record.id] = None
        if (live := self._live.get(record.channel_id)) is not None and live.id == record.id:
            del self._live[record.channel_id]
        if len(self._closed) > _CLOSED_MEMORY:
            self._closed.popitem(last=False)
        ended = ended_at or utc_now()
        ENDED.labels(hung_up_by).inc()
        self.writes.update_call(
            record.id,
            {"ended_at": ended, "hangup_cause": cause, "hangup_cause_text": cause_text,
             "status": CallStatus.ENDED},
            only_live=True,
        )
        self._emit(record, CallEnded(
            **_live(record), state="ended", cause=cause, by=hung_up_by, cause_text=cause_text,
            ended_at=ended, data=dict(data or {})))
        return True

    def _line(self, record: CallRecord, event: str, at: datetime, data: Mapping[str, Any],
              *, queue: str | None = None, agent_user_id: int | None = None) -> None:
        self.writes.append([NewEvent(
            tenant_id=record.tenant_id, event=event, call_id=record.id,
            agent_user_id=agent_user_id, queue=queue, data=dict(data), at=at,
        )])

    def _emit(self, record: CallRecord, event: CallStarted | CallAnswered | CallEnded) -> None:
        """The outbox: the event's journal line joins the write-behind queue, the same object
        goes on the bus."""
        self.writes.append([event.line(record.tenant_id)])
        if isinstance(event, CallEnded):
            self.bus.publish(CALL_ENDED, record.tenant_id, event)
        else:
            self.bus.publish(CALL_STATE, record.tenant_id, event)


def _live(record: CallRecord) -> dict[str, Any]:
    """The fields of a call's bus events that its record holds."""
    return {"call_id": record.id, "direction": record.direction,
            "from_number": record.from_number, "to_number": record.to_number,
            "started_at": record.started_at, "answered_at": record.answered_at,
            "queue": record.queue, "agent_user_id": record.agent_user_id}
