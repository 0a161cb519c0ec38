"""Tables of analytics: transcripts and their lines (searchable), each call's insights, and the
tenants' rules (keyword categories, lead score).

Transcripts and insights belong to a recording and go with it (ON DELETE CASCADE): retention
deleting a recording deletes what was heard in it. Full-text search: a SQLite FTS5 table
`transcript_search` kept by triggers, or PostgreSQL's `to_tsvector('simple', text)` GIN index
(both made by migration 0013).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class Transcript(Base):
    """One recording's transcription: done, or why not (no engine for its language...)."""

    __tablename__ = "transcripts"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    call_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # done, failed, no-engine
    error: Mapped[str | None] = mapped_column(String(500))
    engine: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    audio_seconds: Mapped[float] = mapped_column(Float)
    took_seconds: Mapped[float] = mapped_column(Float)  # CPU seconds of the worker
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TranscriptLine(Base):
    """What one party said in one utterance."""

    __tablename__ = "transcript_lines"
    __table_args__ = (Index(None, "transcript_id", "start"), Index(None, "tenant_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    speaker: Mapped[str] = mapped_column(String(16))  # agent, customer
    start: Mapped[float] = mapped_column(Float)  # seconds from the recording's start
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class CallInsight(Base):
    """A recorded call's insights (analytics/insights.py), one row per recording."""

    __tablename__ = "call_insights"
    __table_args__ = (Index(None, "tenant_id", "hot", "computed_at"),)

    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(String(32))
    agent_user_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(100))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    lead_score: Mapped[float] = mapped_column(Float)
    hot: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AnalyticsRules(Base):
    """A tenant's keyword categories and lead-score rules (analytics/rules.py's shape)."""

    __tablename__ = "analytics_rules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    lead: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
