"""Tables of the ACD: queues (their configuration) and agents (endpoint, skills, queues)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class QueueRow(Base):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    # QueueConfig fields except the name (see acd/settings.py for the accepted keys)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AgentRow(Base):
    """A user who takes calls: their PJSIP endpoint and what they know."""

    __tablename__ = "agents"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # PJSIP endpoint id (also the SIP user name), unique across tenants: Asterisk has one namespace
    endpoint: Mapped[str] = mapped_column(String(64), unique=True)
    sip_password: Mapped[str] = mapped_column(String(64))
    # sip:user@host:port of a desk phone that does not register; None for WebRTC softphones
    contact: Mapped[str | None] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(32))
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # queue name -> penalty (lower tiers get calls first)
    queues: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    wrapup: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
