"""Campaigns and their attempts (one row per call placed, preview call, skip or refusal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now

_JSON = JSON().with_variant(JSONB(), "postgresql")


class CampaignRow(Base):
    """A campaign: its settings (campaigns.core.CampaignSettings as JSON) and its state."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    list_id: Mapped[int] = mapped_column(ForeignKey("lead_lists.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(_JSON)
    state: Mapped[str] = mapped_column(String(16), default="draft")  # core.State
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CampaignAttempt(Base):
    """One attempt on a lead: placed, how it ended (core.Result; none while under way)."""

    __tablename__ = "campaign_attempts"
    __table_args__ = (
        Index(None, "campaign_id", "placed_at"),
        Index(None, "tenant_id", "result"),
        Index(None, "call_id"),  # a preview call's outcome, a disposition find theirs
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(16))
    amd: Mapped[str | None] = mapped_column(String(16))  # AMDSTATUS: HUMAN, MACHINE, NOTSURE
    reason: Mapped[str | None] = mapped_column(String(200))  # a skip's or refusal's why
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    call_id: Mapped[str | None] = mapped_column(String(64))
    talk_s: Mapped[float | None] = mapped_column(Float)
    disposition: Mapped[str | None] = mapped_column(String(100))  # the agent's wrap-up outcome
