"""Tables of outbound work: lead lists, their leads, and call tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now

_JSON = JSON().with_variant(JSONB(), "postgresql")


class LeadList(Base):
    """A list of leads imported from one or more CSV files."""

    __tablename__ = "lead_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(2))  # how its national numbers were read
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100))


class Lead(Base):
    """A person to call: one number per list, linked to the contact with that number."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("list_id", "number"),
        Index(None, "tenant_id", "number"),
        Index(None, "list_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lead_lists.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16))  # E.164
    name: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA, from the file
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")  # leads.work.LeadStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(100))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    line: Mapped[int | None] = mapped_column(Integer)  # its line in the imported file
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CallTask(Base):
    """Call this lead or contact: owned by an agent (a user) or a queue, due at a time."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        Index(None, "tenant_id", "status", "due_at"),
        Index(None, "owner_user_id", "status"),
        Index(None, "lead_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(String(16))  # E.164
    name: Mapped[str | None] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_queue: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # leads.work.TaskStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(100))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(100))  # what finished it
    notes: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(16))  # hand, api, list, follow-up
    call_id: Mapped[str | None] = mapped_column(String(32))  # its last call
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
