"""Tables of outside dialling: the dialling policies (one row per tenant that set one, the others
get the default) and the tenants' outbound numbers (caller IDs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
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


class ComplianceRow(Base):
    """A tenant's compliance settings (compliance.ComplianceRules as rules_json writes them)."""

    __tablename__ = "compliance_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    rules: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(100))


class DoNotCallRow(Base):
    """A number that must not be called: the tenant's (tenant_id set) or global (NULL, the
    operator's, e.g. a national registry's numbers)."""

    __tablename__ = "do_not_call"
    __table_args__ = (UniqueConstraint("tenant_id", "number"), Index(None, "number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(String(16))  # E.164
    reason: Mapped[str | None] = mapped_column(String(200))
    # how it got there: api, import, disposition, cli
    source: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
