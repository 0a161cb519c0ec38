"""Tables of evaluations: the tenants' scorecards and the evaluations made with them.

An evaluation keeps the scorecard as it was when it was filled (`form`): a scorecard edited
later does not change past scores. It belongs to its recording (ON DELETE CASCADE): retention
deleting a recording deletes its evaluations with its transcript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class ScorecardRow(Base):
    __tablename__ = "scorecards"
    __table_args__ = (Index(None, "tenant_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # model.ScorecardFields' dump
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    __table_args__ = (Index(None, "tenant_id", "agent_user_id", "created_at"),
                      Index(None, "recording_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    scorecard_id: Mapped[int | None] = mapped_column(
        ForeignKey("scorecards.id", ondelete="SET NULL"))
    scorecard_name: Mapped[str] = mapped_column(String(100))
    form: Mapped[dict[str, Any]] = mapped_column(JSON)  # the scorecard as it was
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(32))
    agent_user_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(100))
    evaluator_user_id: Mapped[int] = mapped_column(Integer)
    # {question id: {"value", "comment", "auto": the automatic answer or null, "why"}}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)  # percent; 0 when failed
    failed: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # core.Status
    agent_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
