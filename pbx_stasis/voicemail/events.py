"""The voicemail inbox's bus event: a message arrived, was heard, assigned or deleted
(voicemail:changed; the wallboard's waiting work and the inboxes refresh on it)."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.bus import EventTopic
from pbx_stasis.web.routing import ANYONE


@dataclass(frozen=True)
class VoicemailChanged:
    """One message's change: `change` is new, heard, assigned or deleted."""

    voicemail_id: str
    change: str
    mailbox_kind: str | None
    mailbox: str | None
    status: str
    assigned_user_id: int | None
    duration_seconds: float


# Every role of the tenant: it names a mailbox and a count, never the caller or the audio
# (those are read through the API, by the inbox's rules).
VOICEMAIL_CHANGED = EventTopic("voicemail:changed", VoicemailChanged, readers=ANYONE)

__all__ = ["VOICEMAIL_CHANGED", "VoicemailChanged"]
