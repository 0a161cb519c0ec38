"""The tickets' bus events: `TicketCreated` and `TicketUpdated` on ticket:changed, one object per
change (the feed's payload; the webhooks' ticket.created / ticket.updated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pbx_stasis.bus import JOURNAL_ONLY, EventTopic
from pbx_stasis.web.routing import ANYONE


@dataclass(frozen=True)
class TicketChanged:
    """A ticket as it is now, and what changed (`fields`: the names of the changed fields, or
    "comment" / "call" for a comment or a linked call)."""

    ticket_id: int
    subject: str
    status: str
    priority: str
    queue: str | None
    assignee_user_id: int | None
    contact_id: int | None
    due_at: datetime
    updated_at: datetime
    by_user_id: int | None
    fields: tuple[str, ...] = ()
    # The agents who may read it on the feed: its assignee, its creator and the agents of its
    # queue when it changed. Not sent to the pages (who else takes a queue is no agent's business).
    audience: tuple[int, ...] = field(default=(), metadata=JOURNAL_ONLY)


@dataclass(frozen=True)
class TicketCreated(TicketChanged):
    """A ticket was opened (from a call or by hand)."""


@dataclass(frozen=True)
class TicketUpdated(TicketChanged):
    """A ticket's fields changed, or it got a comment or a linked call."""


# Agents get a ticket's events only when they are in its audience (web/feed.py reads a tuple
# own_key as "one of these users").
TICKET_CHANGED = EventTopic(
    "ticket:changed", TicketChanged, readers=ANYONE, own_key="audience"
)

__all__ = ["TICKET_CHANGED", "TicketChanged", "TicketCreated", "TicketUpdated"]
