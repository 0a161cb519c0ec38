"""Storage: SQLAlchemy tables, the Database handle, migrations and the repositories."""

from __future__ import annotations

from pbx_stasis.store.base import utc_now
from pbx_stasis.store.calls import CallRecord, CallRecords, new_call_id
from pbx_stasis.store.db import Database, Scope, normalize_url, within
from pbx_stasis.store.errors import AlreadyExists, StoreError, StoreUnavailable
from pbx_stasis.store.journal import CallJournal, JournalEntry, NewEvent
from pbx_stasis.store.tables import CallStatus, Direction, Role
from pbx_stasis.store.users import DEFAULT_TENANT, Directory, TenantRecord, UserRecord

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
