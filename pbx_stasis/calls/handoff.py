"""What a call script may hand a call to: a queue (the ACD), an agent, or an outside number.

The IVR runner and direct-to-queue numbers use these; the ACD runner implements `QueueDesk`.
Each method returns when the call has left that place: after the conversation (`talked`),
or because it could not be served (`reason`), in which case the script carries on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pbx_stasis.calls.inbound import Call
    from pbx_stasis.dialing.caller_ids import Presented
    from pbx_stasis.dialing.policy import Dialer, Verdict


@dataclass(frozen=True)
class QueueRequest:
    queue: str
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)
    max_wait: float | None = None  # seconds; None: the queue's own max wait
    entered_at: float | None = None  # epoch; set when a caller is put back after a restart
    campaign: int | None = None  # a campaign's customer: outbound work, in no queue's figures
    # The bridge the caller's stay already has (a caller put back after a restart): kept, not
    # made anew, so no stop or crash can catch the stay between two bridges and lose it.
    bridge_id: str | None = None

    def bridge_name(self) -> str:
        """The name of the caller's queue bridge: it carries the request, so an app restarted
        while the caller waits puts them back with their place (`from_bridge_name`)."""
        return _BRIDGE_PREFIX + json.dumps({
            "queue": self.queue, "priority": self.priority, "skills": dict(self.skills),
            "max_wait": self.max_wait, "entered": self.entered_at,
            **({"campaign": self.campaign} if self.campaign is not None else {}),
        })

    @classmethod
    def from_bridge_name(cls, name: str) -> QueueRequest | None:
        if not name.startswith(_BRIDGE_PREFIX):
            return None
        try:
            entry = json.loads(name.removeprefix(_BRIDGE_PREFIX))
            return cls(queue=str(entry["queue"]), priority=int(entry.get("priority") or 0),
                       skills={str(k): int(v) for k, v in (entry.get("skills") or {}).items()},
                       max_wait=entry.get("max_wait"), entered_at=entry.get("entered"),
                       campaign=entry.get("campaign"))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


_BRIDGE_PREFIX = "queue "


@dataclass(frozen=True)
class Outcome:
    """How a hand-off ended. `talked`: the caller was connected to someone.

    reason: completed | caller_hangup | timeout | empty | refused | overflow | no_answer |
    busy | failed | unknown_queue | unknown_agent | not_allowed (the dialling policy refused
    the number)
    """

    talked: bool
    reason: str
    agent: str | None = None
    overflow_kind: str | None = None  # when reason == "overflow": queue | flow | voicemail | ...
    overflow_target: str | None = None
    cause: int | None = None  # an outside number that never answered: its hangup cause (Q.850)


class QueueDesk(Protocol):
    async def enqueue(self, call: Call, request: QueueRequest) -> Outcome:
        """Wait in the queue (music on hold, announcements) until served or exited. A caller
        still unanswered is answered by the queue while the first agent is already rung."""
        ...

    async def connect_agent(self, call: Call, agent: str) -> Outcome:
        """Offer the call to one named agent (username); exits if they don't answer."""
        ...


class CallbackLine(Protocol):
    async def ask(self, call: Call, queue: str, delay: float) -> str:
        """A callback to the caller's number joins `queue` in `delay` seconds: its id. Raises
        CallbackRefused (its reason: not_allowed, unknown_queue...) when none can be taken."""
        ...


class CallbackRefused(Exception):
    """No callback: `reason` says why (the refusal of a number is journaled where judged)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutsideLine(Protocol):
    async def connect_number(self, call: Call, number: str, *, ring_seconds: int = 30,
                             dialer: Dialer | None = None,
                             caller_id: Presented | None = None) -> Outcome:
        """Dial `number` through the trunk and bridge the caller with it, if the call's tenant
        may dial it for `dialer` (None: no person asked, e.g. an IVR transfer node), presenting
        `caller_id` (None: the caller's own number passes through)."""
        ...

    async def presented_for_transfer(self, tenant_id: int, *, queue_caller_id: str | None,
                                     caller: str) -> Presented:
        """The caller ID of a caller handed over to an outside number: the queue's if the
        tenant owns it, else the caller's own."""
        ...

    async def permit(self, tenant_id: int, number: str, dialer: Dialer | None, *,
                     call_id: str | None = None) -> Verdict:
        """The tenant's dialling policy on `number`; a refusal is journaled."""
        ...

    def dial_string(self, number: str) -> str:
        """The channel to originate for a number the policy allowed (Verdict.number)."""
        ...
