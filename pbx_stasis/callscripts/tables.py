"""Tables of call scripts: every version an admin saved (the newest is the one in use)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class CallScriptVersion(Base):
    """One saved version of a tenant's script; only inserted (a restore saves a new one)."""

    __tablename__ = "call_script_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a core.ScriptBody
    # A retired script (its newest version says so) is shown on no call.
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
