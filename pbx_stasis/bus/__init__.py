"""In-process event bus: domain events fan out to read models and WebSocket subscribers."""

from __future__ import annotations

from pbx_stasis.bus.bus import Bus, BusEvent, Subscription

__all__ = ["Bus", "BusEvent", "Subscription"]
