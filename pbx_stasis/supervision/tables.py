"""The supervision audit: one row per mode a supervisor used on a call (who, which call, when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class SupervisionSegment(Base):
    """A stretch of one supervision session in one mode; a switch closes a row and opens the
    next, so a session is its rows in order and every mode has its start and end."""

    __tablename__ = "supervision_audit"
    __table_args__ = (
        Index(None, "tenant_id", "started_at"),
        Index(None, "call_id"),
        Index(None, "session_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    # None when the session was started by the API on behalf of no user (e.g. the CLI)
    supervisor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the endpoint the supervisor was called on, e.g. PJSIP/sup-1
    supervisor_line: Mapped[str] = mapped_column(String(200))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    mode: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # switched, stopped, supervisor hung up, call ended, agent left, failed
    end_reason: Mapped[str | None] = mapped_column(String(32))
