"""The database handle: engine creation with per-backend settings, sessions (urls.py checks
the URL)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from pbx_stasis.store.errors import SETTING, StoreError, StoreUnavailable, mask_password
from pbx_stasis.store.urls import describe, normalize_url

if TYPE_CHECKING:
    from pbx_stasis.store.writer import StoreWriter

# How long a SQLite writer waits for another writer before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long one try to switch a connection to WAL waits for the lock (see _switch_to_wal).
WAL_SWITCH_WAIT_MS = 1000
# PostgreSQL advisory lock held while the schema changes ("pbx_mig"), so workers starting
# together migrate one after the other.
SCHEMA_LOCK_KEY = 0x7062785F6D6967
# Marks the transactions that will write, so SQLite takes its write lock up front (see below).
_WRITE = "pbx_write"

_DRIVER_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


def _to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (journal data, skills...) through orjson: the journal writes one per line.
_JSON: dict[str, Any] = {"json_serializer": _to_json, "json_deserializer": orjson.loads}


def _explain(exc: BaseException) -> str:
    # DBAPIError wraps the driver's exception; its own str() drags the SQL along and several lines.
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    text_ = " ".join(str(cause).split()) or type(cause).__name__
    return f"{type(cause).__name__}: {text_}"


# A table the query needs is missing (SQLite; PostgreSQL's UndefinedTableError): the URL names
# a database that was never migrated, e.g. another file than the one the app runs on.
_NO_TABLE = ("no such table", "UndefinedTableError")


def failure(what: str, exc: BaseException) -> StoreError:
    """A one-line StoreError: what could not be done, and the driver's reason
    (StoreUnavailable when the database could not be reached at all)."""
    if isinstance(exc, StoreError):
        return exc
    kind = StoreUnavailable if is_unreachable(exc) else StoreError
    reason = _explain(exc)
    if any(marker in reason for marker in _NO_TABLE):
        reason += (": this database has not been migrated; is it the one you meant? "
                   "(`pbx migrate` creates the tables)")
    return kind(mask_password(f"{what} ({SETTING}): {reason}"))


_UNREACHABLE = (OSError, TimeoutError, ConnectionError)
_UNREACHABLE_NAMES = frozenset({"OperationalError", "InterfaceError", "ConnectionDoesNotExistError",
                                "CannotConnectNowError", "TooManyConnectionsError"})


def is_unreachable(exc: BaseException) -> bool:
    """The database could not be reached (retry later), as opposed to a request it refused."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, StoreUnavailable):
            return True
        if isinstance(cause, IntegrityError):
            return False
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _UNREACHABLE):
            return True
        if type(cause).__name__ in _UNREACHABLE_NAMES:
            return True
        if isinstance(cause, SQLAlchemyError) and not isinstance(cause, DBAPIError):
            return False
        cause = cause.__cause__
    return False


class Database:
    """One database: an AsyncEngine and the sessions made from it."""

    def __init__(self, engine: AsyncEngine, *, sqlite_busy_ms: int = SQLITE_BUSY_TIMEOUT_MS
                 ) -> None:
        self.engine = engine
        self.url = engine.url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._writes: StoreWriter | None = None
        self._busy_ms = sqlite_busy_ms
        # SQLite: this process's write transactions take turns here (see write_turn); one
        # queue per event loop (tests run several loops over one Database).
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    @property
    def writes(self) -> StoreWriter:
        """The write-behind queue of the call path (store/writer.py): one per database, so call
        rows and every journal line reach it in the order they happened."""
        if self._writes is None:
            from pbx_stasis.store.writer import StoreWriter  # writer.py imports this module

            self._writes = StoreWriter(self)
        return self._writes

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        connect_timeout: float = 10.0,
        echo: bool = False,
        sqlite_foreign_keys: bool = True,
        sqlite_busy_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    ) -> Database:
        """Create the engine for `url`; no connection is made until first use (see `ping`).

        `connect_timeout` (seconds) bounds reaching a PostgreSQL server; SQLite writers wait up to
        SQLITE_BUSY_TIMEOUT_MS for each other. `sqlite_foreign_keys=False` is for migrations only:
        SQLite's batch mode recreates tables and would trip foreign keys midway.
        """
        parsed = normalize_url(url)
        if parsed.get_backend_name() == "sqlite":
            return cls(_sqlite_engine(parsed, echo, sqlite_foreign_keys, sqlite_busy_ms),
                       sqlite_busy_ms=sqlite_busy_ms)
        engine = create_async_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            connect_args={"timeout": connect_timeout},
            **_JSON,
        )
        return cls(engine)

    async def ping(self) -> None:
        """Run SELECT 1; raise StoreError naming the database when it cannot be reached."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except _DRIVER_ERRORS as exc:
            raise failure(f"cannot reach the database {describe(self.url)}", exc) from exc

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads, or for a caller that commits itself; uncommitted work is dropped.

        Database errors raised in the block come out as StoreError.
        """
        try:
            async with self._sessions() as session:
                yield session
        except _DRIVER_ERRORS as exc:
            raise failure(f"database error on {describe(self.url)}", exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls everything back if it raises.

        Writes that belong together (a call record and its journal line) go through one
        transaction, so a crash, a cancelled task or SIGTERM never leaves half of them behind.
        Database errors raised in the block or on commit come out as StoreError.
        """
        try:
            async with self.write_turn(), self._sessions() as session, session.begin():
                if self.backend == "sqlite":
                    await session.connection(execution_options={_WRITE: True})
                yield session
        except _DRIVER_ERRORS as exc:
            raise failure(f"database error on {describe(self.url)}", exc) from exc

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a write transaction, committed when the block ends (rolled
        back if it raises): `transaction()` without the ORM session, for the write-behind
        writer's statements (store/writer.py), which use none of its machinery.
        Database errors raised in the block or on commit come out as StoreError."""
        try:
            async with self.write_turn(), self.engine.connect() as conn:
                if self.backend == "sqlite":
                    await conn.execution_options(**{_WRITE: True})
                async with conn.begin():
                    yield conn
        except _DRIVER_ERRORS as exc:
            raise failure(f"database error on {describe(self.url)}", exc) from exc

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """SQLite: a write transaction of this process waits for the others of this process
        here, in the order they came, and only for other processes in SQLite's lock.

        SQLite's busy handler polls (sleeps of 1 ms growing to 100 ms) and serves no queue: with
        the call path's write-behind, the recorder, the quality figures, webhooks and the
        transcriber writing in one process, each transaction holding the lock over several
        turns of a busy event loop, a writer could lose every poll to newcomers for the whole
        busy timeout and fail with "database is locked" (likely in a full run's analytics
        test). The wait here is bounded by the same timeout, so a transaction opened while its
        own task holds another fails as it did in SQLite, instead of waiting for good."""
        if self.backend != "sqlite":
            yield
            return
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(self._busy_ms / 1000):
                await turn.acquire()
        except TimeoutError:
            locked = sqlite3.OperationalError(
                f"database is locked (this process's other writes held it "
                f"{self._busy_ms / 1000:g} s)")
            raise failure(f"database error on {describe(self.url)}", locked) from None
        try:
            yield
        finally:
            turn.release()

    @asynccontextmanager
    async def schema_change(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that no other schema change runs beside; committed at
        the end. SQLite: the write lock (BEGIN IMMEDIATE). PostgreSQL: an advisory lock."""
        async with self.write_turn(), self.engine.connect() as conn:
            if self.backend == "sqlite":
                await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                if self.backend == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
                    )
                yield conn

    async def dispose(self) -> None:
        """Store the queued writes, then close every pooled connection."""
        if self._writes is not None:
            await self._writes.close()
        await self.engine.dispose()


Scope: TypeAlias = AsyncSession | Database
"""Where a write goes: the caller's unit of work (a session) or a new transaction (the Database).

Writes belong in `Database.transaction()`; in a caller's session, driver errors surface as
StoreError when its block ends.
"""


@asynccontextmanager
async def within(scope: Scope) -> AsyncIterator[AsyncSession]:
    """Join the caller's transaction, or open one of our own when given the Database."""
    if isinstance(scope, Database):
        async with scope.transaction() as tx:
            yield tx
    else:
        yield scope


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether an IntegrityError is a duplicate key (and not, say, a missing foreign row)."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def _switch_to_wal(cursor: Any, busy_ms: int) -> None:
    """PRAGMA journal_mode=WAL, retried while another connection holds the lock (for up to
    `busy_ms`). On a new file, a connection switching to WAL while another, opened before the
    switch, holds the write lock of a migration can deadlock with it: each waits for the other's
    lock. A short wait that fails and lets go, then tries again, breaks it (seen as "database
    is locked" when workers start together on a new SQLite file). Runs in aiosqlite's thread."""
    cursor.execute(f"PRAGMA busy_timeout={WAL_SWITCH_WAIT_MS}")
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(url: URL, echo: bool, foreign_keys: bool, busy_ms: int) -> AsyncEngine:
    assert url.database is not None  # normalize_url refuses SQLite URLs without a path
    path = Path(url.database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise failure(
            f"cannot create the directory of the SQLite database {describe(url)}", exc
        ) from exc
    engine = create_async_engine(url, echo=echo, **_JSON)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling issues BEGIN late and never BEGIN IMMEDIATE; turn it
        # off and issue BEGIN ourselves (below). This also makes DDL transactional.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        _switch_to_wal(cursor, busy_ms)
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        # With WAL, NORMAL never corrupts nor tears a transaction (a killed process loses
        # nothing committed); only a power cut may lose the last commits. FULL would fsync
        # every journal line.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another connection wrote meanwhile (the busy timeout does not apply), so units of work
        # take the write lock first. Plain reads stay deferred and never block writers (WAL).
        _begin(conn, "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def _begin(conn: Connection, statement: str) -> None:
    """`statement` in one hop to aiosqlite's thread: through `exec_driver_sql` it took three
    (cursor, execute, close) for every session and transaction, ~11% of a one-row read's CPU
    (docs/benchmarks.md, session 24). A failure still comes out as SQLAlchemy's error: a
    database busy past the timeout at once (no second wait), anything else by running the
    statement again through `exec_driver_sql` (which invalidates a broken connection)."""
    driver: Any = conn.connection.driver_connection  # aiosqlite's Connection (store/writer.py)
    try:
        # Its private queue to its thread, as the writer's bursts: the cursor closed there too.
        await_only(driver._execute(_execute_closed, driver._conn, statement))
    except sqlite3.OperationalError as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    except Exception:
        conn.exec_driver_sql(statement)


def _execute_closed(raw: sqlite3.Connection, statement: str) -> None:
    raw.execute(statement).close()
