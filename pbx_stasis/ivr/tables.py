"""Tables of the IVR: versions of each tenant's flow files (at most one active per tenant)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now

_JSON = JSON().with_variant(JSONB(), "postgresql")


class IvrVersionRow(Base):
    """One applied set of flow files. Rows are never changed except their `active` flag."""

    __tablename__ = "ivr_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # The database itself guarantees that a tenant never has two live versions.
        Index(
            "uq_ivr_versions_active_tenant",
            "tenant_id",
            unique=True,
            sqlite_where=sql_text("active"),
            postgresql_where=sql_text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the tenant
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # [{"file": name, "text": YAML text}, ...] in load order: exactly what was validated
    sources: Mapped[list[dict[str, Any]]] = mapped_column(_JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
