"""The storage layer's errors: one type (StoreError) and the cases callers branch on."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot do what was asked; the message is one line meant for an operator."""


class AlreadyExists(StoreError):
    """A row with the same unique key is already there (user name, channel id...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (server down or restarting, SQLite locked):
    worth retrying later, unlike a request the database refused."""
