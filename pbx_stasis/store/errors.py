"""The storage layer's errors: one type (StoreError) and the cases callers branch on; and what
their messages may show of the database URL (no SQLAlchemy here: config checks with it too)."""

from __future__ import annotations

import re

SETTING = "PBX_DATABASE_URL / database.url"
# user:password@ up to the last "@": a password may hold unescaped "@" or "/" (the URL is then
# invalid, and the error message shows it).
_PASSWORD_IN_TEXT = re.compile(r"(//[^:/@]*:).*@", re.DOTALL)


def mask_password(raw: str) -> str:
    """`raw` with the password of any scheme://user:password@ hidden, for messages and logs."""
    return _PASSWORD_IN_TEXT.sub(r"\1***@", raw)


class StoreError(Exception):
    """The database cannot do what was asked; the message is one line meant for an operator."""


class AlreadyExists(StoreError):
    """A row with the same unique key is already there (user name, channel id...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (server down or restarting, SQLite locked):
    worth retrying later, unlike a request the database refused."""
