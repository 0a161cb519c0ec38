"""The controller role's lease on a real PostgreSQL, without Asterisk: a standby waits while the
holder's session lives, takes the role when it ends, and the old holder, alive but cut off,
finds the role taken and stops (fencing); web processes read the new holder's address."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pg import PostgresServer

from pbx_stasis.role.lease import RoleLease, active_controller
from pbx_stasis.store import Database

pytestmark = pytest.mark.integration

NAME = "stasis:lease-test"


@pytest.fixture
def pg_url(postgres: PostgresServer, postgres_migrated: str) -> Iterator[str]:
    url = postgres.create_database("pbx_lease", template=postgres_migrated.rsplit("/", 1)[1])
    yield url
    postgres.drop_database(url)


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
