"""Recording's bus event: a recording (a call's or a voicemail) is kept and can be fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role


@dataclass(frozen=True, kw_only=True)
class RecordingReady:
    """A recording stored on our side (its file and row), e.g. for a webhook to fetch it."""

    recording_id: str
    call_id: str
    kind: str  # recording.tables.RecordingKind's value: call, voicemail
    queue: str | None
    agent_user_id: int | None
    started_at: datetime
    duration_seconds: float
    size_bytes: int
    format: str
    # a voicemail's mailbox: "queue" or "agent" and its name (both None: the general one)
    mailbox_kind: str | None = None
    mailbox: str | None = None


# Supervisors and up (agents reach recordings by the tenant's rules, through the API only);
# webhooks send it too.
RECORDING_READY = EventTopic("recording:ready", RecordingReady,
                             readers=frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN}))
