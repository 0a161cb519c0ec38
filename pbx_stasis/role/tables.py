"""The controller role's lease: one row per role (one per ARI application)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from pbx_stasis.store.base import Base, UTCDateTime


class ControllerLease(Base):
    """Who holds the role (`holder`, a process), its `epoch` (one more at every takeover),
    when it last confirmed it and until when it runs (the database's clock), and where it
    serves the web processes (`rpc_url`)."""

    __tablename__ = "controller_leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(BigInteger)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rpc_url: Mapped[str] = mapped_column(String(500))
