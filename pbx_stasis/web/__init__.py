"""The web sidecar: pages, JSON API and WebSocket feed for agents, supervisors, managers, admins."""

from __future__ import annotations

from pbx_stasis.web.app import CONTEXT, WebContext, create_web_app
from pbx_stasis.web.services import ContactCenter, ServiceError, ServiceErrorCode

__all__ = [
    "CONTEXT",
    "ContactCenter",
    "ServiceError",
    "ServiceErrorCode",
    "WebContext",
    "create_web_app",
]
