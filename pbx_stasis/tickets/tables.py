"""Tables of tickets: the tickets, their comments, history rows, linked calls, and tenants' due
time targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index(None, "tenant_id", "status", "due_at"),
        Index(None, "tenant_id", "assignee_user_id"),
        Index(None, "tenant_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The core's Status and Priority by value (plain strings: the rules live in tickets.core).
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(100))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A deleted contact leaves its tickets, without the link.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketCall(Base):
    """A call linked to a ticket (the call it was opened from, or one added later)."""

    __tablename__ = "ticket_calls"
    __table_args__ = (Index(None, "call_id"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (Index(None, "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TicketHistory(Base):
    """One change of a ticket: a field, its old and new value, who and when. Only inserted."""

    __tablename__ = "ticket_history"
    __table_args__ = (Index(None, "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


class TicketTargets(Base):
    """A tenant's due-time targets: minutes per priority (tickets.core.DEFAULT_TARGETS else)."""

    __tablename__ = "ticket_targets"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    minutes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
