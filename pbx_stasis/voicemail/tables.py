"""Tables of the voicemail inbox: each message's state beside its recording, tenants' retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class VoicemailStateRow(Base):
    """A voicemail's inbox state. No row: new and unassigned (a message is in the inbox from the
    moment its recording is kept); the row goes with the recording (ON DELETE CASCADE)."""

    __tablename__ = "voicemail_states"
    __table_args__ = (Index(None, "tenant_id", "assigned_user_id"),)

    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16))  # voicemail.core.Status
    heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heard_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class VoicemailRulesRow(Base):
    """A tenant's voicemail retention (no row: voicemail.core.DEFAULT_RETENTION_DAYS)."""

    __tablename__ = "voicemail_rules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # None: kept until deleted by hand
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
