"""Table of call quality: one row per leg of a connected call (customer, agent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class CallQualityRow(Base):
    __tablename__ = "call_quality"
    __table_args__ = (Index(None, "call_id"), Index(None, "tenant_id", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    leg: Mapped[str] = mapped_column(String(16))  # customer, agent
    agent_user_id: Mapped[int | None] = mapped_column(Integer)
    mes: Mapped[float | None] = mapped_column(Float)
    min_mes: Mapped[float | None] = mapped_column(Float)
    jitter_ms: Mapped[float] = mapped_column(Float)
    lost: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    rtt_ms: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
