"""Webhooks' stores and their sender: subscriptions (the admin's API), the delivery log, and the
`Dispatcher` that turns bus events into signed POSTs, off the call path.

The path of an event: the bus hands it to the dispatcher's subscription (a bounded queue:
publishing never waits; when full, the oldest event is dropped and counted), the intake task
writes one delivery row per subscription that wants it (one transaction per burst), and the
sender task posts the rows that are due, a few at a time, and writes each outcome and the next
try back. The schedule lives in the rows, so a restart resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import delete, func, select, update

from pbx_stasis.bus import Bus, BusEvent, Subscription
from pbx_stasis.bus.bus import encode
from pbx_stasis.config import WebhookSettings
from pbx_stasis.ivr.addresses import PublicResolver, refused_url
from pbx_stasis.masking.core import Shape
from pbx_stasis.masking.service import MASKING, WebhookShape
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.errors import StoreUnavailable
from pbx_stasis.webhooks.core import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Backoff,
    signature,
)
from pbx_stasis.webhooks.events import WEBHOOK_EVENTS, named
from pbx_stasis.webhooks.metrics import ATTEMPTS, LAG_SECONDS, POST_SECONDS
from pbx_stasis.webhooks.tables import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000  # events waiting for the intake; past it the oldest are dropped (counted)
BURST = 500  # events written per transaction
SENDERS = 8  # deliveries in flight at once
TIMEOUT_S = 10.0  # a receiver's whole answer, connection included
READ_BYTES = 4096  # of a receiver's body read (for the log's error), the rest never read
IDLE_S = 5.0  # the sender looks for due rows at least this often (others' replays)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class SubscriptionRecord:
    id: int
    url: str
    events: tuple[str, ...]
    created_at: datetime
    created_by: str
    paused_at: datetime | None
    paused_reason: str | None
    failing_since: datetime | None
    last_success_at: datetime | None

    @property
    def state(self) -> str:
        """active, failing (retrying, not yet paused) or paused."""
        if self.paused_at is not None:
            return "paused"
        return "failing" if self.failing_since is not None else "active"


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    subscription_id: int
    event: str
    created_at: datetime
    status: str
    attempts: int
    next_try_at: datetime | None
    last_attempt_at: datetime | None
    response_code: int | None
    duration_ms: int | None
    error: str | None


def _subscription(row: WebhookSubscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=row.id, url=row.url, events=tuple(row.events), created_at=row.created_at,
        created_by=row.created_by, paused_at=row.paused_at, paused_reason=row.paused_reason,
        failing_since=row.failing_since, last_success_at=row.last_success_at)


def _delivery(row: WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id, subscription_id=row.subscription_id, event=row.event,
        created_at=row.created_at, status=row.status, attempts=row.attempts,
        next_try_at=row.next_try_at, last_attempt_at=row.last_attempt_at,
        response_code=row.response_code, duration_ms=row.duration_ms, error=row.error)


class Webhooks:
    """Subscriptions and deliveries of every tenant (each method takes the tenant)."""

    def __init__(self, db: Database, backoff: Backoff,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.backoff = backoff
        self.clock = clock
        self.changed = asyncio.Event()  # the dispatcher re-reads subscriptions when set
        self.due = asyncio.Event()  # the sender looks for due rows when set
        self.dropped = 0  # events the dispatcher's queue dropped (its own count, shown)
        # What waits, for /metrics (webhooks/metrics.py): the dispatcher keeps them current.
        self.intake: Subscription | None = None  # events not yet written as deliveries
        self.held = 0  # rows kept while the database is away
        self.posting = 0  # deliveries being posted
        # The dispatcher's writes, one at a time: on SQLite concurrent transactions of one
        # process would wait on each other's lock and fail ("database is locked").
        self._writing = asyncio.Lock()

    def depth(self) -> dict[str, int]:
        """The delivery queue's depth by stage, for /metrics."""
        return {"events": self.intake.pending if self.intake is not None else 0,
                "held": self.held, "posting": self.posting}

    async def create(self, tenant_id: int, url: str, events: Sequence[str], by: str
                     ) -> tuple[SubscriptionRecord, str]:
        secret = "whsec_" + secrets.token_urlsafe(32)
        row = WebhookSubscription(tenant_id=tenant_id, url=url, events=list(events),
                                  secret=secret, created_at=self.clock(), created_by=by)
        async with self.db.transaction() as tx:
            tx.add(row)
            await tx.flush()
            record = _subscription(row)
        self.changed.set()
        return record, secret

    async def of_tenant(self, tenant_id: int) -> list[SubscriptionRecord]:
        statement = (select(WebhookSubscription).where(WebhookSubscription.tenant_id == tenant_id)
                     .order_by(WebhookSubscription.id))
        async with self.db.session() as session:
            return [_subscription(row) for row in await session.scalars(statement)]

    async def get(self, tenant_id: int, subscription_id: int
                  ) -> tuple[SubscriptionRecord, str] | None:
        """A subscription and its secret."""
        async with self.db.session() as session:
            row = await session.get(WebhookSubscription, subscription_id)
            if row is None or row.tenant_id != tenant_id:
                return None
            return _subscription(row), row.secret

    async def change(self, tenant_id: int, subscription_id: int, *, url: str | None = None,
                     events: Sequence[str] | None = None, active: bool | None = None
                     ) -> SubscriptionRecord | None:
        """Change the url or events; `active` False pauses it, True resumes it (its failure
        count starts afresh and its pending deliveries are tried at once)."""
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.get(WebhookSubscription, subscription_id)
            if row is None or row.tenant_id != tenant_id:
                return None
            if url is not None:
                row.url = url
            if events is not None:
                row.events = list(events)
            if active is False and row.paused_at is None:
                row.paused_at, row.paused_reason = now, "paused by an admin"
            if active is True and row.paused_at is not None:
                row.paused_at = row.paused_reason = row.failing_since = None
                await tx.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == row.id,
                           WebhookDelivery.status == PENDING)
                    .values(next_try_at=now))
            record = _subscription(row)
        self.changed.set()
        self.due.set()
        return record

    async def delete(self, tenant_id: int, subscription_id: int) -> bool:
        async with self.db.transaction() as tx:
            row = await tx.get(WebhookSubscription, subscription_id)
            if row is None or row.tenant_id != tenant_id:
                return False
            await tx.execute(delete(WebhookDelivery)
                             .where(WebhookDelivery.subscription_id == subscription_id))
            await tx.delete(row)
        self.changed.set()
        return True

    async def deliveries(self, tenant_id: int, subscription_id: int, limit: int = 100
                         ) -> list[DeliveryRecord]:
        statement = (select(WebhookDelivery)
                     .where(WebhookDelivery.tenant_id == tenant_id,
                            WebhookDelivery.subscription_id == subscription_id)
                     .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
                     .limit(limit))
        async with self.db.session() as session:
            return [_delivery(row) for row in await session.scalars(statement)]

    async def replay(self, tenant_id: int, subscription_id: int, delivery_id: str
                     ) -> DeliveryRecord | None:
        """Send a delivery again, now (same id and body, a fresh signature), with a new day of
        retries if it fails."""
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.get(WebhookDelivery, delivery_id)
            if row is None or row.tenant_id != tenant_id or row.subscription_id != subscription_id:
                return None
            row.status, row.next_try_at, row.attempts = PENDING, now, 0
            row.retry_until = now + timedelta(seconds=self.backoff.retry_for)
            record = _delivery(row)
        self.due.set()
        return record

    # --- the dispatcher's side ---------------------------------------------------------------

    async def wanted(self) -> dict[int, list[tuple[int, frozenset[str]]]]:
        """Per tenant, the subscriptions not paused and the events each wants."""
        statement = select(WebhookSubscription.id, WebhookSubscription.tenant_id,
                           WebhookSubscription.events).where(
            WebhookSubscription.paused_at.is_(None))
        found: dict[int, list[tuple[int, frozenset[str]]]] = {}
        async with self.db.session() as session:
            for sub_id, tenant_id, events in (await session.execute(statement)).all():
                found.setdefault(tenant_id, []).append((sub_id, frozenset(events)))
        return found

    async def add_deliveries(self, rows: list[WebhookDelivery]) -> None:
        async with self._writing, self.db.transaction() as tx:
            tx.add_all(rows)
        self.due.set()

    async def due_rows(self, now: datetime, limit: int) -> list[tuple[WebhookDelivery, str, str]]:
        """Pending deliveries due by `now` of subscriptions not paused, with url and secret."""
        statement = (
            select(WebhookDelivery, WebhookSubscription.url, WebhookSubscription.secret)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_try_at <= now,
                   WebhookSubscription.paused_at.is_(None))
            .order_by(WebhookDelivery.next_try_at).limit(limit))
        async with self.db.session() as session:
            return [(row, url, secret) for row, url, secret in
                    (await session.execute(statement)).all()]

    async def next_due(self) -> datetime | None:
        statement = (
            select(func.min(WebhookDelivery.next_try_at))
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.status == PENDING, WebhookSubscription.paused_at.is_(None)))
        async with self.db.session() as session:
            return await session.scalar(statement)

    async def attempted(self, outcomes: Sequence[tuple[str, Attempt]]) -> None:
        """Write attempts' outcomes (one transaction): each delivery's state and next try,
        and its subscription's health (paused once it has failed for `retry_for`)."""
        paused = False
        async with self._writing, self.db.transaction() as tx:
            # Two reads for the whole batch (a read per row cost ~10 ms each on SQLite).
            rows = {row.id: row for row in await tx.scalars(select(WebhookDelivery).where(
                WebhookDelivery.id.in_([delivery_id for delivery_id, _ in outcomes])))}
            subs = {sub.id: sub for sub in await tx.scalars(select(WebhookSubscription).where(
                WebhookSubscription.id.in_({row.subscription_id for row in rows.values()})))}
            for delivery_id, outcome in outcomes:
                row = rows.get(delivery_id)
                if row is not None:  # else deleted with its subscription meanwhile
                    paused |= self._attempted(row, subs.get(row.subscription_id), outcome)
        if paused:
            self.changed.set()  # once committed: the intake re-reads who is still active

    def _attempted(self, row: WebhookDelivery, sub: WebhookSubscription | None,
                   outcome: Attempt) -> bool:
        """One outcome; True when it paused its subscription."""
        now = outcome.at
        row.attempts += 1
        row.last_attempt_at = now
        row.response_code = outcome.code
        row.duration_ms = outcome.duration_ms
        row.error = outcome.error
        if outcome.ok:
            row.status, row.next_try_at = DELIVERED, None
            ATTEMPTS.labels("delivered").inc()
            LAG_SECONDS.observe(max(0.0, (now - row.created_at).total_seconds()))
            if sub is not None:
                sub.failing_since, sub.last_success_at = None, now
            return False
        row.next_try_at = self.backoff.next_try(row.retry_until, now, row.attempts)
        if row.next_try_at is None:
            row.status = FAILED
        ATTEMPTS.labels("gave_up" if row.status == FAILED else "failed").inc()
        if sub is None:
            return False
        if sub.failing_since is None:
            sub.failing_since = now
        # Paused once it has failed for `retry_for` with no success between, or when a
        # delivery used up its retries (its last try comes up to an hour before the
        # day is over) with no other delivery succeeding meanwhile (one event a receiver
        # keeps refusing does not pause the rest).
        gave_up = row.status == FAILED and (
            sub.last_success_at is None or sub.last_success_at < row.created_at)
        if sub.paused_at is None and (gave_up or self.backoff.paused(sub.failing_since, now)):
            sub.paused_at = now
            sub.paused_reason = (f"every delivery failed for "
                                 f"{_span(self.backoff.retry_for)}; resume it once fixed")
            log.warning("webhook %s of tenant %s paused: failing since %s (last: %s)",
                        sub.id, sub.tenant_id, sub.failing_since.isoformat(),
                        outcome.error or outcome.code)
            return True
        return False


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Attempt:
    """One POST's outcome."""

    at: datetime
    ok: bool
    code: int | None
    duration_ms: int
    error: str | None


async def post(session: aiohttp.ClientSession, url: str, secret: str, row: WebhookDelivery,
               *, internal_ok: bool, clock: Callable[[], datetime] = utc_now) -> Attempt:
    """POST a delivery's body, signed now; any 2xx is delivered, anything else a failure."""
    body = row.body.encode()
    started = time.monotonic()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "pbx-stasis-webhooks/1",
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
        DELIVERY_HEADER: row.id,
        EVENT_HEADER: row.event,
    }
    code: int | None = None
    error: str | None = None
    why = None if internal_ok else refused_url(url)
    if why is not None:
        error = why
    else:
        try:
            async with session.post(url, data=body, headers=headers, allow_redirects=False,
                                    timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as response:
                code = response.status
                # Bounded: a receiver's answer is only read for the log; the rest is left.
                answer = await response.content.read(READ_BYTES)
                if not 200 <= code < 300:
                    error = " ".join(answer.decode("utf-8", "replace").split())[:200] or None
        except TimeoutError:
            error = f"no answer within {TIMEOUT_S:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = round((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    return Attempt(at=clock(), ok=ok, code=code, duration_ms=duration_ms, error=error)


@dataclass
class Dispatcher:
    """Bus events to delivery rows (intake) and due rows to POSTs (sender): two tasks of the
    web process, which sees every topic (its own and the Stasis side's, relayed)."""

    hooks: Webhooks
    bus: Bus
    internal_ok: bool
    _wanted: dict[int, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)
    _subscription: Subscription | None = None
    _held: list[WebhookDelivery] = field(default_factory=list)  # rows a failed write kept
    # The tenant's mask of its webhooks' numbers (masking.service.Masking.webhook_shape).
    shape_of: WebhookShape | None = None

    def _topics(self) -> frozenset[str]:
        # Only the topics some subscription wants: publishers that skip events nobody reads
        # (the ACD's agent views) keep skipping them.
        events = {name for subs in self._wanted.values() for _, names in subs for name in names}
        return frozenset(hook.topic.name for hook in WEBHOOK_EVENTS if hook.name in events)

    async def _refresh(self) -> None:
        self.hooks.changed.clear()
        self._wanted = await self.hooks.wanted()
        assert self._subscription is not None
        self._subscription.topics = self._topics()

    async def intake(self) -> None:
        self._subscription = self.bus.subscribe((), size=QUEUE_SIZE)
        self.hooks.intake = self._subscription
        failures = 0
        try:
            while True:
                try:
                    if self.hooks.changed.is_set() or failures or not self._wanted:
                        await self._refresh()
                    await self._take()
                    failures = 0
                except StoreUnavailable as exc:
                    # Events wait in the queue meanwhile (the oldest dropped past its size).
                    failures += 1
                    log.warning("webhooks: database unavailable (%s); retrying", exc)
                    await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
        finally:
            self._subscription.close()
            self.hooks.intake = None

    async def _take(self) -> None:
        sub = self._subscription
        assert sub is not None
        if self._held:
            await self._write([])
            return
        get = asyncio.ensure_future(sub.get())
        changed = asyncio.ensure_future(self.hooks.changed.wait())
        try:
            await asyncio.wait({get, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            if not get.done():
                get.cancel()
        if not get.done() or get.cancelled():
            return
        events = [get.result()]
        while len(events) < BURST and (more := sub.get_nowait()) is not None:
            events.append(more)
        if sub.dropped != self.hooks.dropped:
            log.warning("webhooks: %d events dropped (queue of %d full)",
                        sub.dropped - self.hooks.dropped, QUEUE_SIZE)
            self.hooks.dropped = sub.dropped
        shapes = {}
        if self.shape_of is not None:
            for tenant_id in {event.tenant_id for event in events}:
                shapes[tenant_id] = await self.shape_of(tenant_id)
        await self._write(self._rows(events, shapes))

    async def _write(self, rows: list[WebhookDelivery]) -> None:
        rows = self._held + rows
        self._held = []
        self.hooks.held = 0
        if not rows:
            return
        try:
            await self.hooks.add_deliveries(rows)
        except StoreUnavailable:
            self._held = rows[-QUEUE_SIZE:]  # kept for the next try, bounded as the queue
            self.hooks.held = len(self._held)
            raise
        except Exception:
            # Refused rows (a subscription deleted meanwhile): this burst is lost, not the
            # next ones.
            log.exception("webhooks: %d deliveries could not be stored; dropped", len(rows))
            self.hooks.changed.set()

    def _rows(self, events: list[BusEvent[Any]],
              shapes: Mapping[int, Shape | None]) -> list[WebhookDelivery]:
        """One delivery per subscription that wants each event; its numbers masked when the
        tenant masks its webhooks' (pbx_stasis/masking)."""
        now = self.hooks.clock()
        until = now + timedelta(seconds=self.hooks.backoff.retry_for)
        rows: list[WebhookDelivery] = []
        for event in events:
            names = named(event)
            if not names:
                continue
            data = encode(event.payload)
            shape = shapes.get(event.tenant_id)
            if shape is not None:
                data = shape(data)
            for sub_id, wants in self._wanted.get(event.tenant_id, ()):
                for name in names:
                    if name not in wants:
                        continue
                    delivery_id = "evt_" + secrets.token_hex(12)
                    body = json.dumps({
                        "id": delivery_id, "type": name,
                        "created_at": now.isoformat(), "data": data,
                    }, ensure_ascii=False, separators=(",", ":"), default=str)
                    rows.append(WebhookDelivery(
                        id=delivery_id, subscription_id=sub_id, tenant_id=event.tenant_id,
                        event=name, body=body, created_at=now, status=PENDING, attempts=0,
                        next_try_at=now, retry_until=until))
        return rows

    async def sender(self, session: aiohttp.ClientSession) -> None:
        limit = asyncio.Semaphore(SENDERS)
        in_flight: set[str] = set()  # sent or sending, until their outcome is stored
        outcomes: list[tuple[str, Attempt]] = []
        tasks: set[asyncio.Task[None]] = set()

        async def send(row: WebhookDelivery, url: str, secret: str) -> None:
            async with limit:
                self.hooks.posting += 1
                try:
                    outcome = await post(session, url, secret, row,
                                         internal_ok=self.internal_ok, clock=self.hooks.clock)
                finally:
                    self.hooks.posting -= 1
            POST_SECONDS.observe(outcome.duration_ms / 1000)
            outcomes.append((row.id, outcome))
            self.hooks.due.set()

        try:
            while True:
                self.hooks.due.clear()
                wait = IDLE_S
                try:
                    if outcomes:
                        # Every outcome since the last turn in one transaction.
                        written = outcomes[:]
                        await self.hooks.attempted(written)
                        del outcomes[:len(written)]
                        in_flight.difference_update(delivery_id for delivery_id, _ in written)
                    for row, url, secret in await self.hooks.due_rows(self.hooks.clock(), 100):
                        if row.id in in_flight:
                            continue
                        in_flight.add(row.id)
                        task = asyncio.create_task(send(row, url, secret))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    upcoming = await self.hooks.next_due()
                    if upcoming is not None:
                        wait = min(IDLE_S, max(0.0, (upcoming - self.hooks.clock())
                                               .total_seconds()))
                except StoreUnavailable as exc:
                    # Outcomes are kept (and their deliveries not sent again) until stored.
                    log.warning("webhooks: database unavailable (%s); retrying", exc)
                    wait = 1.0
                except Exception:
                    log.exception("webhooks: sender turn failed; retrying")
                    # Those outcomes are lost: their deliveries stay pending, sent again.
                    in_flight.difference_update(delivery_id for delivery_id, _ in outcomes)
                    outcomes.clear()
                    wait = 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.hooks.due.wait(), max(wait, 0.05))
        finally:
            for task in list(tasks):
                task.cancel()


WEBHOOKS = web.AppKey("webhooks", Webhooks)


def webhooks_of(app: web.Application) -> Webhooks:
    return app[WEBHOOKS]


def running(hooks: Webhooks, bus: Bus, settings: WebhookSettings
            ) -> Callable[[web.Application], AsyncIterator[None]]:
    """The dispatcher's tasks for the web app's lifetime (its cleanup context)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        connector = (aiohttp.TCPConnector() if settings.internal_urls
                     else aiohttp.TCPConnector(resolver=PublicResolver()))
        session = aiohttp.ClientSession(connector=connector)
        masking = app.get(MASKING)
        dispatcher = Dispatcher(hooks, bus, settings.internal_urls,
                                shape_of=masking.webhook_shape if masking else None)
        tasks = [asyncio.create_task(dispatcher.intake(), name="webhooks-intake"),
                 asyncio.create_task(dispatcher.sender(session), name="webhooks-sender")]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await session.close()

    return run
