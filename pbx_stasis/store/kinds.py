"""The tables' enumerations (roles, call directions and states), apart from SQLAlchemy: `pbx`
offers the roles as choices without loading the ORM."""

from __future__ import annotations

import enum

__all__ = ["CallStatus", "Direction", "Role"]


class Role(enum.StrEnum):
    """What a user may do in the web pages."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


class Direction(enum.StrEnum):
    """Which way a call goes, seen from the contact center."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class CallStatus(enum.StrEnum):
    """Whether a call record is still open."""

    LIVE = "live"
    ENDED = "ended"
