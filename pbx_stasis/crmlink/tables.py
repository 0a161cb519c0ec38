"""Table of the external CRM link: one row of settings per tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class CrmLinkSettings(Base):
    """A tenant's CRM: where to look callers up (a url template, a Bearer token, a timeout, how
    long answers are kept), how its answer maps onto a contact, and the "open in CRM" url."""

    __tablename__ = "crm_links"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    lookup_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # Sent as `Authorization: Bearer <token>`; kept in clear (it is what authenticates us).
    token: Mapped[str | None] = mapped_column(String(500), nullable=True)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    cache_s: Mapped[int] = mapped_column(Integer)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON)
    open_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))
