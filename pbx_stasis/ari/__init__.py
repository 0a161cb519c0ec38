"""The project's own typed asyncio client for Asterisk's ARI: REST calls and the events stream."""

from __future__ import annotations

from pbx_stasis.ari.client import (
    Applications,
    AriClient,
    AsteriskSystem,
    Bridges,
    Channels,
    Endpoints,
    Playbacks,
    Recordings,
    Sounds,
)
from pbx_stasis.ari.errors import AriAuthError, AriError, AriUnreachable
from pbx_stasis.ari.events import EventHandler, EventStream, EventStreamStats
from pbx_stasis.ari.models import (
    Application,
    AriEvent,
    AsteriskInfo,
    Bridge,
    CallerID,
    Channel,
    ConfigTuple,
    DialplanCEP,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
    Variable,
    event_bridge_id,
    event_channel_id,
    event_key,
)
from pbx_stasis.ari.operations import OPERATIONS, Operation

__all__ = [
    "OPERATIONS",
    "Application",
    "Applications",
    "AriAuthError",
    "AriClient",
    "AriError",
    "AriEvent",
    "AriUnreachable",
    "AsteriskInfo",
    "AsteriskSystem",
    "Bridge",
    "Bridges",
    "CallerID",
    "Channel",
    "Channels",
    "ConfigTuple",
    "DialplanCEP",
    "Endpoint",
    "Endpoints",
    "EventHandler",
    "EventStream",
    "EventStreamStats",
    "LiveRecording",
    "Operation",
    "Playback",
    "Playbacks",
    "Recordings",
    "Sounds",
    "StoredRecording",
    "Variable",
    "event_bridge_id",
    "event_channel_id",
    "event_key",
]
