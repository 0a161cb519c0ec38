"""An unreachable database (StoreUnavailable: retry later) told apart from a request the
database refused (StoreError): the web answers 503 for the one, the writer keeps its queue."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError

from pbx_stasis.store import StoreError, StoreUnavailable
from pbx_stasis.store.db import failure, is_unreachable


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
