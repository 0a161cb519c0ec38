"""Tables of the CRM: contacts with their normalised phones, dispositions, each agent's outcome
of a call, follow-ups."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now

_JSON = JSON().with_variant(JSONB(), "postgresql")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (Index(None, "tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(_JSON, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ContactPhone(Base):
    """One E.164 number of a contact; a table of its own so a caller is found by index."""

    __tablename__ = "contact_phones"
    __table_args__ = (
        UniqueConstraint("contact_id", "number"),
        Index(None, "tenant_id", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Disposition(Base):
    """An outcome an agent can give a call (sale, callback...), configured per tenant."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    requires_follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Retired dispositions stay in old calls' history but can no longer be chosen.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class FollowUp(Base):
    """A promise made on a call (call back on a date); one per call, replaced on re-disposition."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index(None, "tenant_id", "due_on"),)

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ContactFieldDef(Base):
    """A custom field of the tenant's contacts, defined by an admin: its kind (text, number,
    date, choice) decides what a contact's value may be (crm/fields.py)."""

    __tablename__ = "contact_field_defs"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(_JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CallOutcomeRow(Base):
    """One agent's outcome of a call (their part of it: a transferred call has several)."""

    __tablename__ = "call_outcomes"
    __table_args__ = (UniqueConstraint("call_id", "agent_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    agent_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    disposition: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
