"""The callbacks on the Stasis side: `CallbackService` answers the ACD's `CallbackDesk` (a
waiting caller's request, dialling a reserved agent's customer, the rows journaled), keeps the
callbacks table in step with the ACD's journal rows, puts scheduled and API callbacks into
their queue when they are due, and after a start puts back the ones the ACD held."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import DialCallback, JournalEvent, JournalRow
from pbx_stasis.acd.directory import queue_key
from pbx_stasis.acd.runner import AcdService
from pbx_stasis.acd.stay import Leg, Waiting
from pbx_stasis.ari import AriClient
from pbx_stasis.bus import Bus
from pbx_stasis.callbacks.caps import within_cap
from pbx_stasis.callbacks.dialer import CallbackDialer
from pbx_stasis.callbacks.events import CALLBACK_REQUESTED, CallbackRequested
from pbx_stasis.callbacks.store import (
    Callback,
    CallbackStore,
    Change,
    callback_call,
    change_of,
    new_callback_id,
)
from pbx_stasis.callbacks.tables import CallbackSource, CallbackStatus
from pbx_stasis.calls.handoff import CallbackRefused
from pbx_stasis.calls.inbound import Call
from pbx_stasis.store import Database, StoreError
from pbx_stasis.store.polling import poll
from pbx_stasis.transfer.outside import TrunkLine

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often the table is read for callbacks that are due or cancelled


class CallbackService:
    """The callbacks feature's live part (the ACD's CallbackDesk)."""

    def __init__(self, db: Database, acd: AcdService, line: TrunkLine, ari: AriClient,
                 app: str, *, clock: Callable[[], float], bus: Bus | None = None) -> None:
        self.store = CallbackStore(db, bus)
        self.bus = bus
        self.acd = acd
        self.line = line
        self.clock = clock
        self.dialer = CallbackDialer(ari, line, app, acd.post, self._queue_caller_id,
                                     acd.talk_watchers, self._agent_user_id)
        self._changes: asyncio.Queue[Change] = asyncio.Queue()
        self._pending: list[Change] = []  # taken from the queue, not stored yet
        self._told_cancelled: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- CallbackDesk -------------------------------------------------------------------------

    async def request(self, waiting: Waiting) -> tuple[str, str] | None:
        record = waiting.call.record
        verdict = await self.line.permit(waiting.tenant_id, record.from_number, None,
                                         call_id=record.id)
        if not verdict.allowed or verdict.number is None:
            return None  # the refusal is journaled (DIAL_REFUSED); the caller keeps waiting
        if not await self._within_cap(waiting.tenant_id, verdict.number, record.id):
            return None  # asked too many today (journaled); the caller keeps waiting
        return new_callback_id(), verdict.number

    # --- the IVR's callback node (calls.handoff.CallbackLine) -----------------------------------

    async def ask(self, call: Call, queue: str, delay: float) -> str:
        record = call.record
        if self.acd.core.queue(queue_key(record.tenant_id, queue)) is None:
            raise CallbackRefused("unknown_queue")
        verdict = await self.line.permit(record.tenant_id, record.from_number, None,
                                         call_id=record.id)
        if not verdict.allowed or verdict.number is None:
            raise CallbackRefused("not_allowed")  # journaled (DIAL_REFUSED)
        if not await self._within_cap(record.tenant_id, verdict.number, record.id):
            raise CallbackRefused("capped")  # journaled (DIAL_REFUSED, callback-cap)
        try:
            callback = await self.store.create(
                tenant_id=record.tenant_id, queue=queue, number=verdict.number, contact="",
                source=CallbackSource.IVR, origin_call_id=record.id,
                due_at=datetime.fromtimestamp(self.clock() + delay, UTC))
        except StoreError as exc:
            log.warning("callback for call %s not taken: %s", record.id, exc)
            raise CallbackRefused("unavailable") from exc
        return callback.id  # the follower puts it in the queue when due (within POLL_S)

    async def _within_cap(self, tenant_id: int, number: str, call_id: str) -> bool:
        """The number has not asked for its tenant's cap of callbacks in 24 hours."""
        if self.line.compliance is None:
            return True
        ruling = await within_cap(self.line.compliance, self.store, tenant_id, number,
                                  now=datetime.fromtimestamp(self.clock(), UTC),
                                  call_id=call_id)
        return ruling.allowed

    def dial(self, action: DialCallback, agent_leg: Leg | None) -> None:
        self.dialer.dial(action, agent_leg)

    def noted(self, row: JournalRow, tenant_id: int, queue: str | None,
              agent_user_id: int | None) -> None:
        change = change_of(str(row.event), row.at, row.call_id, tenant_id, queue,
                           agent_user_id, dict(row.data))
        if change is None:
            return
        self._changes.put_nowait(change)
        self._record(row, change.callback_id, tenant_id, queue, agent_user_id)
        if change.insert is not None and self.bus is not None:  # a waiting caller's key
            asked = change.insert
            self.bus.publish(CALLBACK_REQUESTED, tenant_id, CallbackRequested(
                callback_id=asked.id, queue=asked.queue, number=asked.number, contact="",
                source=asked.source, due_at=asked.due_at, origin_call_id=asked.origin_call_id))

    def _record(self, row: JournalRow, callback_id: str, tenant_id: int, queue: str | None,
                agent_user_id: int | None) -> None:
        """A callback is an outbound call with a record of its own (the journal's lines of it
        refer to it), written in order with those lines: opened when it joins its queue,
        answered when the customer answers, ended with its talk or its last attempt (one asked
        through the API or scheduled has it from its creation: CallbackStore.create). It is
        not a live channel (no restart closes or adopts it): its status is `ended` from the
        start, its `ended_at` says when it was over."""
        at = datetime.fromtimestamp(row.at, UTC)
        event, writes = row.event, self.store.db.writes
        if event is JournalEvent.CALLBACKREQ:
            writes.insert_call(callback_call(callback_id, tenant_id, queue or "",
                                             str(row.data.get("number") or ""), at).row())
        elif event is JournalEvent.CALLBACKCONNECT:
            writes.update_call(callback_id, {"answered_at": at, "agent_user_id": agent_user_id})
        elif (event in (JournalEvent.COMPLETECALLER, JournalEvent.COMPLETEAGENT,
                        JournalEvent.CALLBACKCANCEL)
              or (event is JournalEvent.CALLBACKFAIL and row.data.get("final"))):
            writes.update_call(callback_id, {"ended_at": at, "hangup_cause_text": str(
                row.data.get("reason") or event.value.lower())[:128]})

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """After the ACD started: the callbacks it held before the stop take their places again
        (their arrival, attempts and retry time kept), then the followers run."""
        await self.store.settle_connected()
        for tenant_id, callback in await self.store.in_queues():
            self._put_in_queue(tenant_id, callback, adopted=True)
            if callback.status == CallbackStatus.CANCELLING:
                self._told_cancelled.add(callback.id)
                self.acd.post(ev.CallbackCancelled(callback.id))
        self._tasks = [asyncio.create_task(self._write(), name="callbacks-write"),
                       asyncio.create_task(self._follow(), name="callbacks-follow")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.dialer.close()
        with contextlib.suppress(StoreError):
            await self._flush()

    # --- followers ----------------------------------------------------------------------------

    async def _follow(self) -> None:
        """Callbacks that are due join their queue; cancelled ones leave it."""
        async def follow() -> None:
            now = datetime.fromtimestamp(self.clock(), UTC)
            due, cancelling = await self.store.changes(now)
            if due:
                for tenant_id, callback in await self.store.due(now):
                    self._put_in_queue(tenant_id, callback, adopted=False)
            for callback_id in cancelling:
                if callback_id not in self._told_cancelled:
                    self._told_cancelled.add(callback_id)
                    self.acd.post(ev.CallbackCancelled(callback_id))

        await poll(follow, POLL_S, "callbacks", wait_first=False, errors=(StoreError,))

    async def _write(self) -> None:
        """The records follow the journal rows, in order, a burst per transaction; kept while
        the database is away."""
        while True:
            if not self._pending:  # else those not saved yet are tried again first
                self._pending.append(await self._changes.get())
            try:
                await self._flush()
            except StoreError as exc:
                log.warning("callbacks: %d record change(s) not saved yet: %s",
                            len(self._pending), exc)
                await asyncio.sleep(5.0)

    async def _flush(self) -> None:
        while not self._changes.empty():
            self._pending.append(self._changes.get_nowait())
        if self._pending:
            await self.store.apply(self._pending)  # on failure kept, tried again first
            self._pending = []

    def _put_in_queue(self, tenant_id: int, callback: Callback, *, adopted: bool) -> None:
        retry_at = callback.retry_at.timestamp() if callback.retry_at is not None else None
        self.acd.post(ev.CallbackQueued(
            callback.id, queue_key(tenant_id, callback.queue), callback.number,
            entered_at=callback.due_at.timestamp(), contact=callback.contact,
            attempts=callback.attempts, not_before=retry_at, adopted=adopted))

    def _agent_user_id(self, agent_id: str) -> int | None:
        agent = self.acd.agents.get(agent_id)
        return None if agent is None else agent.user_id

    def _queue_caller_id(self, key: str) -> str | None:
        config = self.acd.core.queue(key)
        return None if config is None else config.caller_id


__all__ = ["CallbackService"]
