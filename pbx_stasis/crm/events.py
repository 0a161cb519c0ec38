"""The CRM's bus event: a call's disposition was saved (an agent's wrap-up, or a supervisor's
correction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role


@dataclass(frozen=True, kw_only=True)
class DispositionSet:
    """A call's outcome as saved."""

    call_id: str
    disposition: str
    notes: str | None
    follow_up_on: str | None  # ISO date (the bus's JSON carries datetimes, not dates)
    by_user_id: int
    agent_user_id: int | None  # the agent who took the call
    at: datetime


# Everyone in the tenant (an agent: the dispositions of their own calls); webhooks send it too.
DISPOSITION_SET = EventTopic("crm:disposition", DispositionSet, readers=frozenset(Role),
                             own_key="agent_user_id")
