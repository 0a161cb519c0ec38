"""Table of number masking: one row per tenant that masks numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class NumberMasking(Base):
    """The roles of a tenant that see callers' numbers masked, and whether its webhooks
    carry them masked."""

    __tablename__ = "number_masking"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    webhooks: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))
