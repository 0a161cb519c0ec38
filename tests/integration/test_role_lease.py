"""The controller role's lease on a real PostgreSQL, without Asterisk: a standby waits while the
holder's session lives, takes the role when it ends, and the old holder, alive but cut off,
finds the role taken and stops (fencing); web processes read the new holder's address; a
renewal that times out keeps the holder's session (and so its role)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from pg import PostgresServer

from pbx_stasis.role.lease import REQUEST_S, RoleLease, active_controller, asyncpg_dsn
from pbx_stasis.store import Database

pytestmark = pytest.mark.integration

NAME = "stasis:lease-test"


async def test_a_standby_takes_the_role_of_a_cut_off_holder_which_then_stops(
        postgres: PostgresServer, pg_url: str) -> None:
    first = RoleLease(pg_url, NAME, "http://127.0.0.1:9001")
    second = RoleLease(pg_url, NAME, "http://127.0.0.1:9002")
    stop = asyncio.Event()
    db = Database.connect(pg_url)
    try:
        assert await first.acquire(stop)
        holding = asyncio.create_task(first.hold())
        assert await active_controller(db, NAME) == "http://127.0.0.1:9001"
        waiting = asyncio.create_task(second.acquire(stop))
        await asyncio.sleep(1.5)  # several looks: the holder's session holds the lock
        assert not waiting.done() and second.standby_reason  # standby, saying why
        assert not holding.done()

        # The holder's connection is cut (the server stays up): its session, and the lock, end.
        # The holder may reconnect and lock again before the standby's next look (then it
        # rightly keeps the role): cut it again until the standby is first.
        for _ in range(5):
            if first._conn is not None:
                postgres.psql(f"SELECT pg_terminate_backend({first._conn.get_server_pid()})")
            done, _ = await asyncio.wait({waiting}, timeout=1.5)
            if done:
                break
        assert waiting.done() and waiting.result()
        assert second.epoch == first.epoch + 1
        why = await asyncio.wait_for(holding, 5)  # it reconnects, finds the row taken
        assert why == "another controller took the role"
        assert await active_controller(db, NAME) == "http://127.0.0.1:9002"
    finally:
        stop.set()
        await first.release()
        await second.release()
        await db.dispose()


async def test_a_slow_renewal_keeps_the_holders_session_and_its_role(
        postgres: PostgresServer, pg_url: str) -> None:
    """The lease row locked by another transaction for longer than a renewal's bound (as a busy
    server or a stalled holder makes a renewal time out): the holder keeps its session, so the
    standby keeps waiting and the role stays where it was (before: the holder dropped its
    connection on the timeout, freeing the lock, and the standby took the role at once)."""
    first = RoleLease(pg_url, NAME, "http://127.0.0.1:9001")
    second = RoleLease(pg_url, NAME, "http://127.0.0.1:9002")
    stop = asyncio.Event()
    blocker = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        assert await first.acquire(stop)
        holding = asyncio.create_task(first.hold())
        waiting = asyncio.create_task(second.acquire(stop))
        await asyncio.sleep(0.5)
        session = first._conn.get_server_pid() if first._conn is not None else None
        async with blocker.transaction():
            await blocker.execute("SELECT 1 FROM controller_leases WHERE name = $1 FOR UPDATE",
                                  NAME)
            await asyncio.sleep(REQUEST_S + 2.5)  # at least one renewal times out
        await asyncio.sleep(1.5)  # the next renewals go through
        assert not waiting.done(), "the standby took the role of a slow holder"
        assert not holding.done()
        assert first._conn is not None and first._conn.get_server_pid() == session
        assert second.standby_reason == \
            "the active controller's database session holds the lock"
    finally:
        stop.set()
        await blocker.close()
        await first.release()
        await second.release()
