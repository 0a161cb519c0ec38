"""An unreachable database (StoreUnavailable: retry later) told apart from a request the
database refused (StoreError): the web answers 503 for the one, the writer keeps its queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from pbx_stasis.store import StoreError, StoreUnavailable
from pbx_stasis.store.db import Database, failure, is_unreachable


def test_a_refused_connection_is_unreachable() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    problem = failure("database error on postgresql://x@127.0.0.1/db", refused)
    assert isinstance(problem, StoreUnavailable)
    assert "ConnectionRefusedError" in str(problem) and "\n" not in str(problem)
    assert is_unreachable(problem)


def test_a_driver_operational_error_is_unreachable() -> None:
    locked = OperationalError("INSERT ...", {}, Exception("database is locked"))
    assert isinstance(failure("write", locked), StoreUnavailable)


def test_a_refused_row_is_not_unreachable() -> None:
    duplicate = IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))
    problem = failure("write", duplicate)
    assert isinstance(problem, StoreError) and not isinstance(problem, StoreUnavailable)
    assert not is_unreachable(problem.__cause__ or duplicate)


async def test_a_database_never_migrated_says_so(tmp_path: Path) -> None:
    """`pbx journal` pointed at another file than the app's (a second terminal without the
    demo's PBX_DATABASE_URL): the error says the tables are missing and how they are made."""
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError) as raised:
            async with db.session() as session:
                await session.execute(text("SELECT id FROM call_events"))
    finally:
        await db.dispose()
    message = str(raised.value)
    assert "no such table: call_events" in message and "`pbx migrate`" in message
    assert "empty.db" in message and "\n" not in message
