"""The callbacks' bus event: `CallbackRequested` on callback:requested when a callback is asked
for, whichever way (a waiting caller's key, an IVR node, the API, the command line): the feed's
payload for supervisors and up, and the webhooks' callback.requested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import at_least


@dataclass(frozen=True)
class CallbackRequested:
    callback_id: str
    queue: str
    number: str  # E.164, as the dialling policy judged it
    contact: str
    source: str  # callbacks.tables.CallbackSource: queue, ivr, api
    due_at: datetime  # when it joins (or joined) its queue
    origin_call_id: str | None  # the call it was asked from


CALLBACK_REQUESTED = EventTopic("callback:requested", CallbackRequested,
                                readers=at_least(Role.SUPERVISOR))

__all__ = ["CALLBACK_REQUESTED", "CallbackRequested"]
