"""In-process event bus: typed domain events fan out to read models and WebSocket subscribers."""

from __future__ import annotations

from pbx_stasis.bus.bus import JOURNAL_ONLY, Bus, BusEvent, EventTopic, Subscription, encode

__all__ = ["JOURNAL_ONLY", "Bus", "BusEvent", "EventTopic", "Subscription", "encode"]
