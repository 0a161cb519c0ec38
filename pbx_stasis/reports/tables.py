"""Tables of the reports: quarter-hour rollups of each queue and agent (reports/rollups.py) and,
per tenant, how far they are rolled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class QueueQuarterRow(Base):
    """A queue's tally over one quarter hour, with the rules its within-T counts used."""

    __tablename__ = "report_queue_quarters"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)
    short: Mapped[float] = mapped_column(Float)
    tally: Mapped[dict[str, Any]] = mapped_column(JSON)  # acd/figures.py QueueTally's fields


class AgentQuarterRow(Base):
    """An agent's tally over one quarter hour (agents by user id, as the journal has them)."""

    __tablename__ = "report_agent_quarters"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    agent_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tally: Mapped[dict[str, Any]] = mapped_column(JSON)  # AgentTally's fields


class RollupMarkRow(Base):
    """A tenant's rollups cover the quarters from `since` to before `through`."""

    __tablename__ = "report_rollup_marks"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    through: Mapped[datetime] = mapped_column(UTCDateTime())
