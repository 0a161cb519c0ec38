"""Tables of outside dialling: the dialling policies (one row per tenant that set one, the others
get the default) and the tenants' outbound numbers (caller IDs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime, utc_now


class DialPolicyRow(Base):
    """A tenant's dialling policy (policy.DialPolicy) as plain lists of strings."""

    __tablename__ = "dial_policies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    countries: Mapped[list[str]] = mapped_column(JSON)  # ISO 3166 codes
    allow: Mapped[list[str]] = mapped_column(JSON)  # E.164 prefixes
    block: Mapped[list[str]] = mapped_column(JSON)
    roles: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # who set it (a username, or "cli"): the policy decides what the trunk is billed for
    updated_by: Mapped[str] = mapped_column(String(100))


class CallerIdRow(Base):
    """A tenant's outbound numbers (caller_ids.CallerIds): [{number, label, default}, ...]."""

    __tablename__ = "caller_ids"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    numbers: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # who set them (a username, or "cli"): the numbers are what the carrier is told
    updated_by: Mapped[str] = mapped_column(String(100))
