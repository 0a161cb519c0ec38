"""The timestamp column type: aware datetimes in, UTC out, naive datetimes refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from pbx_stasis.store.base import UTCDateTime

SQLITE = make_url("sqlite+aiosqlite://").get_dialect()()
POSTGRES = make_url("postgresql+asyncpg://").get_dialect()()

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)


@given(aware)
def test_sqlite_stores_naive_utc_and_reads_back_the_same_instant(value: datetime) -> None:
    column = UTCDateTime()
    stored = column.process_bind_param(value, SQLITE)
    assert stored is not None and stored.tzinfo is None
    read = column.process_result_value(stored, SQLITE)
    assert read == value
    assert read is not None and read.tzinfo is UTC
    assert read.microsecond == value.astimezone(UTC).microsecond


@given(aware)
def test_postgresql_gets_an_aware_utc_value(value: datetime) -> None:
    column = UTCDateTime()
    stored = column.process_bind_param(value, POSTGRES)
    assert stored == value and stored is not None and stored.tzinfo is UTC
    # asyncpg returns timestamptz in UTC already; any other offset is normalised too.
    paris = value.astimezone(timezone(timedelta(hours=2)))
    read = column.process_result_value(paris, POSTGRES)
    assert read == value and read is not None and read.tzinfo is UTC


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_naive_datetimes_are_refused(value: datetime) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(value, SQLITE)


def test_naive_utc_order_matches_instant_order_on_sqlite() -> None:
    # SQLite compares the stored text: converting to UTC first keeps text order = time order.
    early = datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))  # 07:00 UTC
    late = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    column = UTCDateTime()
    stored_early = column.process_bind_param(early, SQLITE)
    stored_late = column.process_bind_param(late, SQLITE)
    assert stored_early is not None and stored_late is not None
    assert stored_early < stored_late


def test_none_passes_through() -> None:
    assert UTCDateTime().process_bind_param(None, SQLITE) is None
    assert UTCDateTime().process_result_value(None, POSTGRES) is None
