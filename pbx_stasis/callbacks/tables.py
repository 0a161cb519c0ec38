"""The callbacks table: every callback asked for (by a waiting caller, an agent, the API), its
state, so pending ones survive a restart."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"  # waits for its time (due_at) before joining its queue
    QUEUED = "queued"  # in its queue, in its place (resting until retry_at after a failure)
    DIALLING = "dialling"  # an agent is reserved; the customer rings
    CONNECTED = "connected"  # the customer answered: talking with the agent
    DONE = "done"  # talked
    FAILED = "failed"  # attempts spent, or the number refused
    CANCELLING = "cancelling"  # cancelled while queued: the ACD is being told
    CANCELLED = "cancelled"


PENDING = frozenset({CallbackStatus.SCHEDULED, CallbackStatus.QUEUED, CallbackStatus.DIALLING,
                     CallbackStatus.CONNECTED, CallbackStatus.CANCELLING})


class CallbackSource(StrEnum):
    QUEUE = "queue"  # a waiting caller pressed the queue's callback key
    IVR = "ivr"  # a flow's callback node
    API = "api"  # POST /api/callbacks (an agent, a supervisor, another system)


class CallbackRow(Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_tenant_status", "tenant_id", "status"),
        Index("ix_callbacks_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "cb-" + 32 hex
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    queue: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(32))  # E.164, as the dialling policy judged it
    contact: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # When it takes its place in the queue: a waiting caller's own arrival, else its time.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    origin_call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
