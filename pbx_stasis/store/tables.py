"""Tables of the contact center: tenants, users, call records and the call_events journal."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now
from pbx_stasis.store.kinds import CallStatus, Direction, Role

__all__ = ["Base", "Call", "CallEvent", "CallStatus", "Direction", "Role", "Tenant", "User"]


def _str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK instead of PostgreSQL's native ENUM: adding a value later is then a plain
    # migration on both backends, and the values stored are the lowercase strings, not the names.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# The journal's id must be an auto-incrementing rowid on SQLite, which only INTEGER PRIMARY KEY is.
_EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL so reports can index and query inside event data.
_EVENT_DATA = JSON().with_variant(JSONB(), "postgresql")


class Tenant(Base):
    __tablename__ = "tenants"
    # Slugs are compared case-insensitively (store/accounts.py): stored in lower case only, the
    # plain unique constraint then keeps "Acme" from shadowing "acme".
    __table_args__ = (CheckConstraint("slug = lower(slug)", name="slug_lower_case"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username"),
        CheckConstraint("username = lower(username)", name="username_lower_case"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    username: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_str_enum(Role, "user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index(None, "tenant_id", "started_at"),
        Index(None, "status"),
    )

    # Our own call id (uuid4 hex): the ARI channel id changes on transfers, this does not.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    channel_id: Mapped[str] = mapped_column(String(128), unique=True)
    linkedid: Mapped[str | None] = mapped_column(String(128))
    direction: Mapped[Direction] = mapped_column(_str_enum(Direction, "call_direction"))
    from_number: Mapped[str] = mapped_column(String(128))
    to_number: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str | None] = mapped_column(String(128))
    queue: Mapped[str | None] = mapped_column(String(100))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposition: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CallStatus] = mapped_column(
        _str_enum(CallStatus, "call_status"), default=CallStatus.LIVE
    )


class CallEvent(Base):
    """One line of the journal (the project's queue_log). Rows are only ever inserted."""

    __tablename__ = "call_events"
    __table_args__ = (
        Index(None, "call_id"),
        Index(None, "tenant_id", "at"),
        Index(None, "event", "at"),
    )

    id: Mapped[int] = mapped_column(_EVENT_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # Agent events (login, pause...) belong to no call.
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(_EVENT_DATA, default=dict)
