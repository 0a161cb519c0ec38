"""Storage: SQLAlchemy tables, the Database handle, migrations and the repositories."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbx_stasis.lazy import exports

if TYPE_CHECKING:
    from pbx_stasis.store.base import utc_now
    from pbx_stasis.store.calls import CallRecord, CallRecords, new_call_id
    from pbx_stasis.store.db import Database, Scope, within
    from pbx_stasis.store.errors import AlreadyExists, StoreError, StoreUnavailable
    from pbx_stasis.store.journal import CallJournal, JournalEntry, NewEvent
    from pbx_stasis.store.kinds import CallStatus, Direction, Role
    from pbx_stasis.store.urls import normalize_url
    from pbx_stasis.store.users import DEFAULT_TENANT, Directory, TenantRecord, UserRecord

_HOMES = {  # each module and the names it exports
    "base": ("utc_now",),
    "calls": ("CallRecord", "CallRecords", "new_call_id"),
    "db": ("Database", "Scope", "within"),
    "errors": ("AlreadyExists", "StoreError", "StoreUnavailable"),
    "journal": ("CallJournal", "JournalEntry", "NewEvent"),
    "kinds": ("CallStatus", "Direction", "Role"),
    "urls": ("normalize_url",),
    "users": ("DEFAULT_TENANT", "Directory", "TenantRecord", "UserRecord"),
}
if not TYPE_CHECKING:  # loaded on first use (pbx_stasis.lazy)
    __getattr__ = exports(__name__, _HOMES)

__all__ = [
    "DEFAULT_TENANT",
    "AlreadyExists",
    "CallJournal",
    "CallRecord",
    "CallRecords",
    "CallStatus",
    "Database",
    "Direction",
    "Directory",
    "JournalEntry",
    "NewEvent",
    "Role",
    "Scope",
    "StoreError",
    "StoreUnavailable",
    "TenantRecord",
    "UserRecord",
    "new_call_id",
    "normalize_url",
    "utc_now",
    "within",
]
