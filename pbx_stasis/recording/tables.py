"""The recordings table: one row per audio file kept (voicemails now, recorded calls later)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

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
    format: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
