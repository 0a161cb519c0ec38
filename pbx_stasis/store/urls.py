"""The database URL: checked and rewritten to the async driver of its backend, and shown without
its password. Apart from the engine (db.py): config checks the URL with it, so `pbx check` on a
wrong configuration loads SQLAlchemy's URL parser but not its engine and ORM."""

from __future__ import annotations

from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError

from pbx_stasis.store.errors import SETTING, StoreError, mask_password

EXPECTED = (
    "expected sqlite+aiosqlite:///path/to/pbx.db "
    "or postgresql+asyncpg://user:password@host:5432/dbname"
)
_SQLITE_DRIVERS = {None, "aiosqlite", "pysqlite"}
_POSTGRES_DRIVERS = {None, "asyncpg"}


def _url_error(raw: str, why: str) -> StoreError:
    return StoreError(f"{SETTING}: {why} in {mask_password(raw)!r}; {EXPECTED}")


def normalize_url(raw: str) -> URL:
    """Check a database URL and rewrite it to the async driver of its backend.

    `sqlite:///x` and `postgresql://...` (or `postgres://...`) become `sqlite+aiosqlite:///x` and
    `postgresql+asyncpg://...`. Anything else raises StoreError with a one-line message.
    """
    raw = raw.strip()
    if not raw:
        raise StoreError(f"{SETTING} is empty; {EXPECTED}")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise _url_error(raw, "not a database URL") from None
    except ValueError:  # a port that is not a number
        raise _url_error(raw, "the port must be a number") from None
    backend, _, driver = url.drivername.partition("+")
    driver_or_none = driver or None
    if backend == "sqlite":
        if driver_or_none not in _SQLITE_DRIVERS:
            raise _url_error(raw, f"unsupported SQLite driver {driver!r}")
        if not url.database or url.database == ":memory:":
            # Each pooled connection would get its own empty database and the journal would be
            # lost on restart: never what an operator wants.
            raise _url_error(raw, "no SQLite file path (in-memory databases are not supported)")
        if url.host or url.port or url.username:
            raise _url_error(raw, "a SQLite URL has no host (use three slashes)")
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        if driver_or_none not in _POSTGRES_DRIVERS:
            raise _url_error(raw, f"unsupported PostgreSQL driver {driver!r}")
        if not url.database:
            raise _url_error(raw, "no database name")
        if url.host and "@" in url.host:
            # The password ended at its first "@": the rest would be shown as the host.
            raise StoreError(f"{SETTING}: the host holds an '@': write an '@' of the password "
                             f"as %40; {EXPECTED}")
        return url.set(drivername="postgresql+asyncpg")
    raise _url_error(raw, f"unsupported database {backend!r}")


def describe(url: URL) -> str:
    """The URL as it may appear in logs and error messages (password hidden)."""
    return url.render_as_string(hide_password=True)
