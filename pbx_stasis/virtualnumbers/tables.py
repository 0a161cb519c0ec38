"""Tables of virtual numbers: the tenants' pools, the number each contact was given, and the
masked two-party mappings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class VirtualNumber(Base):
    """One number of a tenant's pool (a number belongs to one tenant: calls to it are its)."""

    __tablename__ = "virtual_numbers"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    # Where customers calling it back go (after the agent they last talked with).
    queue: Mapped[str | None] = mapped_column(String(100))


class ContactVirtualNumber(Base):
    """The virtual number a contact sees (sticky)."""

    __tablename__ = "contact_virtual_numbers"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))


class MaskedMapping(Base):
    """Party A and party B reach each other through `virtual` until `expires_at` (a mapping
    revoked by hand ends then: `expires_at` is brought forward, who and when kept)."""

    __tablename__ = "masked_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    virtual: Mapped[str] = mapped_column(String(32), index=True)
    party_a: Mapped[str] = mapped_column(String(32))
    party_b: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
