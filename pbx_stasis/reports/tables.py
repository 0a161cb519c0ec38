"""Tables of the reports: quarter-hour rollups of each queue and agent (reports/rollups.py) and,
per tenant, how far they are rolled. The tallies are plain columns (acd/figures.py's QueueTally
and AgentTally fields) so that a report adds a month of quarters up in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class QueueQuarterRow(Base):
    """A queue's tally over one quarter hour, with the rules its within-T counts used."""

    __tablename__ = "report_queue_quarters"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[int] = mapped_column(Integer)  # hours since the epoch: a report's hours and days
    threshold: Mapped[float] = mapped_column(Float)
    short: Mapped[float] = mapped_column(Float)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    answered_within: Mapped[int] = mapped_column(Integer)
    unanswered: Mapped[int] = mapped_column(Integer)
    unanswered_within: Mapped[int] = mapped_column(Integer)
    short_count: Mapped[int] = mapped_column("short_count", Integer)  # QueueTally.short
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandoned: Mapped[int] = mapped_column(Integer)
    timed_out: Mapped[int] = mapped_column(Integer)
    left_empty: Mapped[int] = mapped_column(Integer)
    transferred: Mapped[int] = mapped_column(Integer)
    answer_wait: Mapped[float] = mapped_column(Float)
    abandon_wait: Mapped[float] = mapped_column(Float)
    longest_wait: Mapped[float] = mapped_column(Float)
    handled: Mapped[int] = mapped_column(Integer)
    talk: Mapped[float] = mapped_column(Float)
    wrapup: Mapped[float] = mapped_column(Float)
    away: Mapped[int] = mapped_column(Integer)
    callbacks: Mapped[int] = mapped_column(Integer)
    callbacks_connected: Mapped[int] = mapped_column(Integer)
    callbacks_failed: Mapped[int] = mapped_column(Integer)


class AgentTallyColumns:
    """An AgentTally's fields as columns (the quarters' and the days' tables)."""

    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    missed: Mapped[int] = mapped_column(Integer)
    transfers: Mapped[int] = mapped_column(Integer)
    handled: Mapped[int] = mapped_column(Integer)
    talk: Mapped[float] = mapped_column(Float)
    wrapup: Mapped[float] = mapped_column(Float)
    paused: Mapped[float] = mapped_column(Float)
    busy: Mapped[float] = mapped_column(Float)
    available: Mapped[float] = mapped_column(Float)
    outbound_placed: Mapped[int] = mapped_column(Integer)
    outbound_connected: Mapped[int] = mapped_column(Integer)
    outbound_talk: Mapped[float] = mapped_column(Float)
    outbound_wrapup: Mapped[float] = mapped_column(Float)


class AgentQuarterRow(AgentTallyColumns, Base):
    """An agent's tally over one quarter hour (agents by user id, as the journal has them)."""

    __tablename__ = "report_agent_quarters"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    agent_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class AgentDayRow(AgentTallyColumns, Base):
    """An agent's quarters of one UTC day added up (reports/rollup_store.py keeps it equal to
    them): a month's report adds 30 of these per agent instead of 2,880 quarters."""

    __tablename__ = "report_agent_days"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)  # UTC midnight
    agent_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class RollupMarkRow(Base):
    """A tenant's rollups cover the quarters from `since` to before `through`."""

    __tablename__ = "report_rollup_marks"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    through: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportSettingsRow(Base):
    """A tenant's report settings: the time zone of a report's days and hours when the request
    names none (`?tz=`); no row: UTC."""

    __tablename__ = "report_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
