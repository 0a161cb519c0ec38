"""Write-behind for the call path: call records, their updates and journal lines, queued in the
order they happened and committed by one task, one transaction per burst.

A transaction costs far more CPU than the rows in it, and nothing a caller hears or an agent
sees waits for the disk. So the first write waits `LINGER_S` for others: a queued call's writes
(its row, three updates, seven journal lines) cost 1.35 ms of CPU alone in a transaction, 0.68
ms a call in transactions of 3 calls, 0.33 in transactions of 10 (`scripts/bench-writer`,
session 18): 200 ms makes ~10 calls a transaction at 50 calls/s. A reader sees a row only once
it is committed, so whoever reads rows the call path may still hold settles first (`settle`,
which commits at once): the live calls' list, a call's own lookup from an agent's page (through
the ACD's `calls_stored`, in the process that runs the calls, split deployment or not), the
recorder, supervision's audit, the reports' rollup. Other readers may see a row up to
`LINGER_S` late (another process's report of the last moments). One queue for
every writer of the call path keeps foreign keys right (a call's row is written before its
journal lines) and the journal in the order events happened.

Failures lose nothing they need not: when the database is unreachable (server restarting,
SQLite locked) the burst stays queued and is retried with backoff, in order; a row the database
refuses (say a duplicate key) is isolated by retrying the burst row by row, and only that row is
dropped, with a log line naming it. The queue is bounded: past `max_pending` rows the oldest are
dropped with an error (a database down for hours must not eat the process's memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, Update, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from pbx_stasis.store.db import Database, failure, is_unreachable
from pbx_stasis.store.journal import NewEvent
from pbx_stasis.store.metrics import COMMITS, COMMITTED
from pbx_stasis.store.tables import Call, CallEvent, CallStatus

log = logging.getLogger(__name__)

_CALLS = cast(Table, Call.__table__)
_LINES = cast(Table, CallEvent.__table__)
MAX_BURST = 5000  # writes per transaction (after an outage the queue may hold many more)
LINGER_S = 0.2  # ~10 calls a transaction at 50 calls/s


@dataclass(frozen=True, slots=True)
class _CallInsert:
    row: Mapping[str, Any]


# An update's columns and conditions: updates of one shape share one executemany.
_Shape = tuple[tuple[str, ...], bool, bool]


@dataclass(frozen=True, slots=True)
class _CallUpdate:
    call_id: str
    values: Mapping[str, Any]
    only_live: bool
    only_unanswered: bool

    @property
    def shape(self) -> _Shape:
        return tuple(sorted(self.values)), self.only_live, self.only_unanswered


@dataclass(frozen=True, slots=True)
class _Lines:
    rows: tuple[Mapping[str, Any], ...]


_Op = _CallInsert | _CallUpdate | _Lines


# A burst the database could not take is tried again after RETRY_FIRST_S, then twice as long
# each time, never more than RETRY_MAX_S apart: what was queued lands within ~2 s of the
# database's return (at most 30 s apart, a 15 s PostgreSQL restart left the journal, and the
# reports and figures read from it, over 20 s behind after it: tries 16 s, then 30 s apart),
# and a try while it is away costs one refused connection.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 2.0


class StoreWriter:
    """The write-behind queue of one database (`Database.writes`).

    `linger`: how long the first queued row waits for others to share its transaction.
    `settle()` waits until everything queued before it is committed (or given up).
    """

    def __init__(
        self,
        db: Database,
        *,
        linger: float = LINGER_S,
        max_pending: int = 200_000,
        retry: tuple[float, float] = (RETRY_FIRST_S, RETRY_MAX_S),
    ) -> None:
        self._db = db
        self.linger = linger
        self.max_pending = max_pending
        self.retry = retry
        self._ops: deque[_Op] = deque()
        self._queued = 0  # ops ever queued: a settle() waits until `_done` reaches its mark
        self._done = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._urgent = asyncio.Event()
        self.outage = False  # the database is unreachable; bursts wait and are retried
        # For tests and benchmarks: transactions begun, and the statements run on the SQLite
        # driver directly (by verb; SQLAlchemy's cursor events do not see them).
        self.transactions = 0
        self.statements: Counter[str] = Counter()
        # SQLite: the connection the bursts run on (`_commit_on_driver`), held between them:
        # a checkout from the pool and its return (a rollback) cost more than a burst of
        # three calls' writes.
        self._held: PoolProxiedConnection | None = None
        # SQLite: bursts run on the driver directly (`_commit_on_driver`); tests compare.
        self.on_driver = db.backend == "sqlite"

    # --- what the call path writes ---------------------------------------------------------

    def insert_call(self, row: Mapping[str, Any]) -> None:
        """A new calls row (every column given; the id is chosen by the caller)."""
        self._push(_CallInsert(dict(row)))

    def update_call(
        self,
        call_id: str,
        values: Mapping[str, Any],
        *,
        only_live: bool = False,
        only_unanswered: bool = False,
    ) -> None:
        """Set columns of one call; with `only_live`/`only_unanswered` nothing changes once the
        call ended / was answered (so a replay or a late duplicate is harmless)."""
        self._push(_CallUpdate(call_id, dict(values), only_live, only_unanswered))

    def append(self, events: Iterable[NewEvent]) -> None:
        """Journal lines, in this order (each needs `at`: stamped when the event happened)."""
        rows = tuple([_line(event) for event in events])
        if rows:
            self._push(_Lines(rows))

    async def settle(self) -> None:
        """Until every write queued so far is committed or given up (for readers and for
        direct writes that refer to rows still queued). While the database is out it returns
        after one more try fails: nobody (a stop, a supervisor's request) waits for the outage
        to end, and what they do next fails on its own, with its own error."""
        if self._done >= self._queued:
            return
        self._attach()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((self._queued, waiter))
        self._urgent.set()
        self._ready.set()
        await waiter

    async def close(self) -> None:
        """Write what is queued (unless the database is out) and stop the task."""
        if self._task is None:
            return
        if not self.outage:
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(10):
                    await self.settle()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self._let_go()
        if self._ops:
            log.error("%d queued write(s) not stored: the database was unreachable at exit",
                      len(self._ops))

    @property
    def pending(self) -> int:
        return len(self._ops)

    # --- the writer task ---------------------------------------------------------------------

    def _push(self, op: _Op) -> None:
        self._attach()
        if len(self._ops) >= self.max_pending:
            log.error("write queue full (%d while the database is out): dropped %s",
                      self.max_pending, _describe(op))
            return
        self._ops.append(op)
        self._queued += 1
        self._ready.set()

    def _attach(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (tests): start afresh
            self._loop = loop
            self._ready, self._urgent = asyncio.Event(), asyncio.Event()
            self._task = None
            self._waiters = []
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="store-writer")

    async def _run(self) -> None:
        delay = self.retry[0]
        while True:
            await self._ready.wait()
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.linger):
                        await self._urgent.wait()
            self._ready.clear()
            self._urgent.clear()
            burst = list(itertools.islice(self._ops, MAX_BURST))
            if not burst:
                self._wake_waiters()
                continue
            began = time.perf_counter()
            handled, out = await self._store(burst)
            if out is None:
                COMMITS.observe(time.perf_counter() - began)
            COMMITTED.inc(handled)
            for _ in range(handled):
                self._ops.popleft()
            self._done += handled
            self._wake_waiters()
            if out is not None:  # the database is out: keep the rest, in order, for later
                if not self.outage:
                    log.error("database unreachable, %d write(s) kept for later: %s",
                              len(self._ops), failure("write", out))
                self.outage = True
                self._release_waiters()
                # Back off, unless a settle() asks for a try now.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._urgent.wait()
                delay = min(delay * 2, self.retry[1])
                self._ready.set()
                continue
            if self.outage:
                log.warning("database reachable again; queued writes stored")
            self.outage, delay = False, self.retry[0]
            if self._ops:
                self._ready.set()

    async def _store(self, burst: list[_Op]) -> tuple[int, BaseException | None]:
        """Commit a burst: (how many of its writes are done with, stored or dropped; the error
        that made the database unreachable, if it did)."""
        try:
            await self._commit(burst)
            return len(burst), None
        except Exception as exc:
            if is_unreachable(exc):
                return 0, exc
        # Refused: store each write alone and drop only those the database refuses.
        for done, op in enumerate(burst):
            try:
                await self._commit([op])
            except Exception as exc:
                if is_unreachable(exc):
                    return done, exc
                log.error("write dropped, the database refused it: %s (%s)",
                          _describe(op), failure("write", exc))
        return len(burst), None

    def _release_waiters(self) -> None:
        """The database is out: every settle() waiting returns (the writes stay queued)."""
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters = []

    def _wake_waiters(self) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for mark, waiter in self._waiters:
            if waiter.done():
                continue
            if self._done >= mark:
                waiter.set_result(None)
            else:
                still.append((mark, waiter))
        self._waiters = still

    async def _commit(self, burst: list[_Op]) -> None:
        self.transactions += 1
        if self.on_driver:
            await self._commit_on_driver(burst)
            return
        async with self._db.write_connection() as conn:
            for statement, params in _statements(burst):
                await conn.execute(statement, params)

    async def _commit_on_driver(self, burst: list[_Op]) -> None:
        """SQLite: the same statements straight on the driver, the values bound as SQLAlchemy
        binds them (`_DriverStatement`). Through SQLAlchemy every statement cost 3-4 hops to
        aiosqlite's thread (cursor, execute, close) and its execution machinery; here the
        whole burst (BEGIN IMMEDIATE, one executemany per statement, COMMIT) is one hop
        (docs/benchmarks.md, "The write-behind writer on the SQLite driver", session 15)."""
        dialect = self._db.engine.dialect
        prepared = [(_driver_statement(statement, params, dialect), params)
                    for statement, params in _statements(burst)]
        rows = [(compiled.sql, compiled.rows(params)) for compiled, params in prepared]
        async with self._db.write_turn():
            if self._held is None:
                self._held = await self._db.engine.raw_connection()
            driver: Any = self._held.driver_connection  # aiosqlite's Connection
            try:
                # aiosqlite's own queueing to its thread (`Connection._execute`, not its
                # public API: the version is pinned below 0.23 in pyproject.toml): the whole
                # burst in one hop where its public calls make one per statement.
                await driver._execute(lambda: _burst(driver._conn, rows))
            except BaseException:
                await self._let_go()  # a connection that failed is not trusted with the next
                raise
        self.statements.update(["BEGIN", "COMMIT", *(compiled.verb for compiled, _ in prepared)])

    async def _let_go(self) -> None:
        """Give the connection the writer holds back to the pool (it rolls back what is open)."""
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(Exception):  # a broken one is dropped by the pool
                await greenlet_spawn(held.close)


def _burst(conn: sqlite3.Connection, rows: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """One transaction, in aiosqlite's thread. A writer cancelled while this runs (only at
    shutdown, after `close()` gave the queue 10 s) may leave it to commit unseen."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, values in rows:
            conn.executemany(sql, values)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


# The statements are built once: SQLAlchemy memoizes a statement object's cache key, so a burst
# reuses the compiled form without rebuilding and re-hashing the statement (or an ORM session).
_INSERT_CALLS = insert(_CALLS)
_INSERT_LINES = insert(_LINES)
_UPDATES: dict[_Shape, Update] = {}


def _update_statement(shape: _Shape) -> Update:
    statement = _UPDATES.get(shape)
    if statement is None:
        columns, only_live, only_unanswered = shape
        table = _CALLS.c
        statement = update(_CALLS).where(table.id == bindparam("b_call_id"))
        if only_live:
            statement = statement.where(table.status == CallStatus.LIVE)
        if only_unanswered:
            statement = statement.where(table.answered_at.is_(None))
        statement = _UPDATES[shape] = statement.values(
            {c: bindparam(f"b_{c}") for c in columns})
    return statement


def _statements(burst: list[_Op]) -> list[tuple[Insert | Update, list[Mapping[str, Any]]]]:
    """A burst as few executemany statements, in order: calls first (journal lines refer to
    them), then the journal lines in order, then updates, each call's in the order they were
    made."""
    calls = [op.row for op in burst if isinstance(op, _CallInsert)]
    lines = [row for op in burst if isinstance(op, _Lines) for row in op.rows]
    statements: list[tuple[Insert | Update, list[Mapping[str, Any]]]] = []
    if calls:
        statements.append((_INSERT_CALLS, calls))
    if lines:
        statements.append((_INSERT_LINES, lines))
    for round_ in _update_rounds([op for op in burst if isinstance(op, _CallUpdate)]):
        by_shape: dict[_Shape, list[_CallUpdate]] = {}
        for op in round_:
            by_shape.setdefault(op.shape, []).append(op)
        for shape, ops in by_shape.items():
            columns = shape[0]
            statements.append((_update_statement(shape), [
                {"b_call_id": op.call_id, **{f"b_{c}": op.values[c] for c in columns}}
                for op in ops
            ]))
    return statements


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement compiled once for the driver: its SQL, and per positional parameter the
    key of the row that gives it (or the statement's own constant) and SQLAlchemy's bind
    processor of its type (aware datetimes to SQLite's text, enums to their value, JSON)."""

    sql: str
    verb: str
    keys: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def rows(self, params: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        # Plain loops: a generator per row resumed per column was ~90 frames a queued call.
        constants, pairs = self.constants, tuple(zip(self.keys, self.processors, strict=True))
        rows = []
        for row in params:
            values = []
            for key, process in pairs:
                value = row[key] if key in row else constants[key]
                values.append(value if process is None else process(value))
            rows.append(tuple(values))
        return rows


# By statement, row keys and engine (its dialect holds the JSON serializer the processors use).
_COMPILED: dict[tuple[int, tuple[str, ...], int], _DriverStatement] = {}


def _driver_statement(
    statement: Insert | Update, params: list[Mapping[str, Any]], dialect: Dialect
) -> _DriverStatement:
    # As SQLAlchemy compiles an executemany: for the keys of its first parameter set.
    keys = tuple(sorted(params[0]))
    cache_key = (id(statement), keys, id(dialect))
    found = _COMPILED.get(cache_key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    found = _COMPILED[cache_key] = _DriverStatement(
        sql=compiled.string,
        verb=compiled.string.split(None, 1)[0].upper(),
        keys=names,
        constants={name: binds[name].effective_value for name in names if name not in keys},
        processors=tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
    )
    return found


def _update_rounds(updates: list[_CallUpdate]) -> list[list[_CallUpdate]]:
    """Round k holds each call's k-th update: within a round no two touch the same call, so
    they can be grouped by shape without reordering any one call's changes."""
    rounds: list[list[_CallUpdate]] = []
    seen: dict[str, int] = {}
    for op in updates:
        k = seen.get(op.call_id, 0)
        seen[op.call_id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(op)
    return rounds


def _line(event: NewEvent) -> dict[str, Any]:
    if event.at is None:
        raise ValueError(f"journal line {event.event!r} without a time")
    return {
        "at": event.at,
        "tenant_id": event.tenant_id,
        "call_id": event.call_id,
        "agent_user_id": event.agent_user_id,
        "queue": event.queue,
        "event": event.event,
        "data": dict(event.data),
    }


def _describe(op: _Op) -> str:
    if isinstance(op, _CallInsert):
        return f"new call {op.row.get('id')}"
    if isinstance(op, _CallUpdate):
        return f"call {op.call_id} set {', '.join(sorted(op.values))}"
    events = ", ".join(f"{row['event']} of call {row['call_id']}" for row in op.rows[:3])
    return f"{len(op.rows)} journal line(s): {events}"
