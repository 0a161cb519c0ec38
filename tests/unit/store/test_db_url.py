"""Database URL checking: rewriting to async drivers and one-line errors naming the setting."""

from __future__ import annotations

import pytest

from pbx_stasis.store.errors import SETTING, StoreError
from pbx_stasis.store.urls import describe, normalize_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/pbx.db", "sqlite+aiosqlite:///var/pbx.db"),
        ("sqlite:////srv/pbx/pbx.db", "sqlite+aiosqlite:////srv/pbx/pbx.db"),
        ("sqlite+aiosqlite:///var/pbx.db", "sqlite+aiosqlite:///var/pbx.db"),
        ("sqlite+pysqlite:///var/pbx.db", "sqlite+aiosqlite:///var/pbx.db"),
        ("  sqlite:///var/pbx.db\n", "sqlite+aiosqlite:///var/pbx.db"),
        ("postgresql://pbx@db.example/pbx", "postgresql+asyncpg://pbx@db.example/pbx"),
        ("postgres://pbx@db.example:5433/pbx", "postgresql+asyncpg://pbx@db.example:5433/pbx"),
        ("postgresql+asyncpg://pbx@10.0.0.5/pbx", "postgresql+asyncpg://pbx@10.0.0.5/pbx"),
        (
            "postgresql:///pbx?host=/var/run/postgresql",
            "postgresql+asyncpg:///pbx?host=%2Fvar%2Frun%2Fpostgresql",
        ),
    ],
)
def test_urls_are_rewritten_to_the_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_the_password_survives_normalisation() -> None:
    url = normalize_url("postgresql://pbx:s3cr%40t@db/pbx")
    assert url.password == "s3cr@t"
    assert describe(url) == "postgresql+asyncpg://pbx:***@db/pbx"


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("pbx.db", "not a database URL"),
        ("/var/lib/pbx.db", "not a database URL"),
        ("mysql://pbx@db/pbx", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://pbx@db/pbx", "unsupported PostgreSQL driver 'psycopg2'"),
        ("sqlite+pysqlcipher:///x.db", "unsupported SQLite driver 'pysqlcipher'"),
        ("sqlite://", "no SQLite file path"),
        ("sqlite:///:memory:", "no SQLite file path"),
        ("sqlite://host/x.db", "has no host"),
        ("postgresql://pbx@db", "no database name"),
    ],
)
def test_bad_urls_give_one_line_naming_the_setting(given: str, why: str) -> None:
    with pytest.raises(StoreError) as caught:
        normalize_url(given)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(SETTING)
    assert "PBX_DATABASE_URL" in message and "database.url" in message
    assert why in message
    assert "expected sqlite+aiosqlite:///" in message and "postgresql+asyncpg://" in message


@pytest.mark.parametrize(
    "given",
    ["mysql://pbx:hunter2@db/pbx", "postgresql+psycopg2://pbx:hunter2@db/pbx", "x://a:hunter2@"],
)
def test_error_messages_hide_the_password(given: str) -> None:
    with pytest.raises(StoreError) as caught:
        normalize_url(given)
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)
