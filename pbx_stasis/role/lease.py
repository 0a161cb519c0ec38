"""The controller role in PostgreSQL: a standby waits for it (`RoleLease.acquire`), the active
controller keeps it (`RoleLease.hold`, which returns when it must stop acting), and web
processes read where the active one serves them (`active_controller`). The decisions are
core.py's; this module only talks to the database, on one dedicated asyncpg connection (the
advisory lock belongs to it: it is free the moment the holder's process dies)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from pbx_stasis.role.core import (
    FENCE_S,
    LEASE_S,
    PROBE_S,
    RENEW_S,
    Claim,
    Holding,
    Lease,
    Renewal,
    Seen,
    claim,
)
from pbx_stasis.role.tables import ControllerLease
from pbx_stasis.store import Database, StoreError

log = logging.getLogger(__name__)

# What a database that is away (stopped, restarting, unreachable) raises here; and asyncpg's
# "another operation is in progress" when a request cut off by a restart left the connection
# in between (seen once as InternalClientError: it stopped the process with a traceback).
DOWN = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError)
# Each request to the database is bounded: a hung connection must not keep the holder from
# fencing itself in time.
REQUEST_S = 2.0

_SEEN = """
SELECT extract(epoch FROM now())::float8, extract(epoch FROM pg_postmaster_start_time())::float8
"""
_ROW = """
SELECT holder, epoch, extract(epoch FROM renewed_at)::float8,
       extract(epoch FROM expires_at)::float8, rpc_url
FROM controller_leases WHERE name = $1
"""
_TAKE = """
INSERT INTO controller_leases (name, holder, epoch, renewed_at, expires_at, rpc_url)
VALUES ($1, $2, 1, now(), now() + make_interval(secs => $3), $4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
    epoch = controller_leases.epoch + 1, renewed_at = excluded.renewed_at,
    expires_at = excluded.expires_at, rpc_url = excluded.rpc_url
RETURNING epoch
"""
_RENEW = """
UPDATE controller_leases SET renewed_at = now(), expires_at = now() + make_interval(secs => $4)
WHERE name = $1 AND holder = $2 AND epoch = $3 RETURNING epoch
"""
# A clean stop: a standby may take the role at once (its lock is free when the session closes).
_GIVE_UP = """
UPDATE controller_leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3
"""


def lock_key(name: str) -> int:
    """The advisory lock's key for the lease `name` (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.sha256(f"pbx-stasis role {name}".encode()).digest()[:8],
                          "big", signed=True)


def asyncpg_dsn(url: str) -> str:
    """The asyncpg DSN of a `postgresql+asyncpg://` database URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class RoleLease:
    """This process's claim to the controller role named `name` (one per ARI application)."""

    def __init__(self, url: str, name: str, rpc_url: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.rpc_url = rpc_url
        self.me = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"
        self._dsn = asyncpg_dsn(url)
        self._key = lock_key(name)
        self._clock = clock
        self._conn: asyncpg.Connection | None = None
        self._locked = False
        self.epoch = 0
        self.standby_reason = "starting"

    # --- the standby ---------------------------------------------------------------------------

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait for the role (True: this process holds it now), or `stop` (False)."""
        said = ""
        while not stop.is_set():
            try:
                verdict, taken = await self._try_take()
            except DOWN as exc:
                reason = f"the database does not answer ({type(exc).__name__})"
                await self._drop()
            else:
                if taken:
                    log.info("controller role %r taken (epoch %d): %s", self.name,
                             self.epoch, verdict)
                    self.standby_reason = ""
                    return True
                reason = verdict
            self.standby_reason = reason
            if reason != said:
                log.info("standby for the controller role %r: %s", self.name, reason)
                said = reason
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PROBE_S)
        return False

    async def _try_take(self) -> tuple[str, bool]:
        conn = await self._connection()
        async with asyncio.timeout(REQUEST_S):
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key))
            now, started = await conn.fetchrow(_SEEN)
            row = await conn.fetchrow(_ROW, self.name)
            lease = Lease(*row) if row is not None else None
            verdict = claim(self.me, Seen(got, lease, now, started))
            if verdict.claim is Claim.TAKE:
                self.epoch = int(await conn.fetchval(_TAKE, self.name, self.me, LEASE_S,
                                                     self.rpc_url))
                self._locked = True
                return verdict.reason, True
            if got:  # looked, not ours: let the holder coming back have it
                await conn.fetchval("SELECT pg_advisory_unlock($1)", self._key)
            return verdict.reason, False

    # --- the active controller ---------------------------------------------------------------

    async def hold(self) -> str:
        """Keep the role, renewing every RENEW_S; return why this process must stop acting
        (its role was taken, or it could not confirm it for FENCE_S)."""
        holding = Holding(self._clock())
        warned = False
        while True:
            renewal = await self._renew(holding.left(self._clock()))
            after = holding.after(renewal, self._clock())
            if after is None:
                if renewal is Renewal.LOST:
                    return "another controller took the role"
                return f"the role could not be confirmed for {FENCE_S:.0f} s"
            if renewal is Renewal.UNREACHABLE and not warned:
                log.warning("the controller role cannot be confirmed (the database does not "
                            "answer): acting on for %.0f s at most", after.left(self._clock()))
                warned = True
            elif renewal is Renewal.CONFIRMED and warned:
                log.info("the controller role is confirmed again")
                warned = False
            holding = after
            await asyncio.sleep(RENEW_S)

    async def _renew(self, left: float) -> Renewal:
        try:
            async with asyncio.timeout(max(0.1, min(REQUEST_S, left))):
                conn = await self._connection()
                if not self._locked:  # a new session: the lock first, or a standby could
                    # read a confirmation from this server's lifetime and take the role
                    self._locked = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)",
                                                            self._key))
                    if not self._locked:
                        row = await conn.fetchrow(_ROW, self.name)
                        mine = row is not None and (row[0], row[1]) == (self.me, self.epoch)
                        return Renewal.UNREACHABLE if mine else Renewal.LOST
                renewed = await conn.fetchval(_RENEW, self.name, self.me, self.epoch, LEASE_S)
                return Renewal.CONFIRMED if renewed is not None else Renewal.LOST
        except TimeoutError:
            # Slow, not gone (a busy server, or this process's loop stalled for a while): the
            # session and its lock are kept (asyncpg cancels the request, the connection stays
            # usable). Dropping them would free the lock and a standby would take the role at
            # once, for a delay the fence already bounds.
            if self._conn is not None and self._conn.is_closed():
                await self._drop()
            return Renewal.UNREACHABLE
        except DOWN:
            await self._drop()
            return Renewal.UNREACHABLE

    async def release(self) -> None:
        """Give the role up after this process stopped acting (a clean stop), and close."""
        if self._conn is not None and self._locked:
            with contextlib.suppress(*DOWN):
                async with asyncio.timeout(REQUEST_S):
                    await self._conn.execute(_GIVE_UP, self.name, self.me, self.epoch)
        await self._drop()

    # --- the connection ------------------------------------------------------------------------

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._locked = False
            self._conn = await asyncpg.connect(self._dsn, timeout=REQUEST_S)
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn, self._locked = self._conn, None, False
        if conn is not None:
            conn.terminate()  # never waits on a dead server


async def active_controller(db: Database, name: str) -> str | None:
    """Where the active controller serves the web processes (its RPC URL), None when no
    controller holds the role (or the database does not answer: keep what was known)."""
    try:
        async with db.session() as session:
            row = await session.scalar(select(ControllerLease).where(
                ControllerLease.name == name))
    except StoreError:  # unreachable (an outage), or not migrated yet
        return None
    return row.rpc_url if row is not None else None


def role_name(ari_app: str) -> str:
    """The role's name: one active controller per ARI application."""
    return f"stasis:{ari_app}"
