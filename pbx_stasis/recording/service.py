"""Live recording control, declared once: what the HTTP routes ask of the Stasis side's recorder
(`RecordingControl`), the values it answers with and its one error type.

`recorder.CallRecorder` implements it in the Stasis process; a web process of its own gets a
proxy generated from the protocol (pbx_stasis.remote), so every method is async and takes and
returns plain values the codec knows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from pbx_stasis.acd.runner import Talk
from pbx_stasis.remote.interfaces import Interface
from pbx_stasis.web.contract import ServiceError


class RecordingError(ServiceError):
    """Why a recording request was refused: not-found, conflict or unavailable."""


class RecordingState(enum.StrEnum):
    OFF = "off"  # not recorded (yet: on-demand calls may start)
    RECORDING = "recording"
    PAUSED = "paused"  # recording silence


@dataclass(frozen=True, slots=True)
class LiveRecordingView:
    """What the agent page shows about a connected call's recording."""

    call_id: str
    state: RecordingState
    policy: str
    agent_may_start: bool
    recorded_seconds: float  # including paused time (silence in the file)
    paused_seconds: float


class RecordingControl(Protocol):
    """What the live-call routes ask of the recorder (errors: RecordingError)."""

    async def talk(self, tenant_id: int, call_id: str) -> Talk:
        """The connected call (to check who may act on it); not-found otherwise."""
        ...

    async def state(self, tenant_id: int, call_id: str) -> LiveRecordingView:
        """Whether the connected call is recorded; not-found when there is no such call."""
        ...

    async def start(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        """Start recording now (on-demand queues only); a no-op when it already records."""
        ...

    async def pause(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        """From now on the file gets silence instead of the conversation."""
        ...

    async def resume(
        self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
    ) -> LiveRecordingView:
        """The file gets the conversation again."""
        ...


# RecordingControl as a web process of its own reaches it (pbx_stasis.remote).
RECORDING_SERVICE: Interface[RecordingControl] = Interface(
    "recording", RecordingControl, RecordingError, RecordingError.rebuild)
