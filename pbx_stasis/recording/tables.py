"""Tables of recordings: the files, queues' policies, tenants' rules, and who heard what."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.recording.kinds import PolicyMode
from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class RecordingKind(enum.StrEnum):
    VOICEMAIL = "voicemail"  # a caller's message, left in an IVR voicemail node
    CALL = "call"  # a recorded conversation (supervision and recording issue)


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        Index(None, "call_id"),
        Index(None, "tenant_id", "created_at"),
        Index(None, "tenant_id", "kind", "mailbox_kind", "mailbox"),
    )

    # An unguessable token: it appears in links to the file, which must not be enumerable.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[RecordingKind] = mapped_column(
        Enum(
            RecordingKind,
            name="recording_kind",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        )
    )
    # voicemail: "queue" or "agent" with its name, both None for the general mailbox
    mailbox_kind: Mapped[str | None] = mapped_column(String(16))
    mailbox: Mapped[str | None] = mapped_column(String(100))
    # the recording's name in Asterisk (ARI), kept to trace a file back to its origin
    name: Mapped[str] = mapped_column(String(200))
    # relative to the recordings directory, so the directory can move
    path: Mapped[str] = mapped_column(String(500))
    # the per-speaker stereo WAV (agent left, customer right) beside it, for analysis; None for
    # voicemail and for calls recorded before per-speaker recording (or whose tracks failed)
    tracks_path: Mapped[str | None] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RecordingPolicyRow(Base):
    """A queue's recording policy (a queue without a row records nothing)."""

    __tablename__ = "recording_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "queue"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    queue: Mapped[str] = mapped_column(String(100))
    mode: Mapped[PolicyMode] = mapped_column(
        Enum(
            PolicyMode,
            name="recording_policy_mode",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        )
    )
    sample_percent: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RecordingRulesRow(Base):
    """A tenant's rules for call recordings: how long they are kept, who may hear them."""

    __tablename__ = "recording_rules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # None: kept until deleted by hand
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # agents may list, play and download the recordings of their own calls
    agents_hear_own: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RecordingAccess(Base):
    """One play or download of a recording: who, when, which bytes. No foreign key to the
    recording: the audit outlives the file (retention deletes recordings, not their audit)."""

    __tablename__ = "recording_access"
    __table_args__ = (
        Index(None, "tenant_id", "at"),
        Index(None, "recording_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    recording_id: Mapped[str] = mapped_column(String(43))
    call_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))  # play, download
    byte_range: Mapped[str | None] = mapped_column(String(64))  # the Range header, if any
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
