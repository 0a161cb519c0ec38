"""A ticket as people write it: the API's bodies and queries (pydantic models), checked once here
for the routes and the `pbx ticket` command."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pbx_stasis.tickets.core import Priority, Status
from pbx_stasis.validation import (
    LINES,
    QUERY_WHOLE,
    WHOLE,
    Model,
    QueryFlag,
    Whole,
    left_out,
    text,
)

Subject = Annotated[str, text(max_length=200)]
Description = Annotated[str, text(min_length=0, max_length=10_000, pattern=LINES, strip=False)]
QueueName = Annotated[str, text(max_length=100)]
UserId = Annotated[Whole, Field(ge=1, le=2_147_483_647), WHOLE]
CallId = Annotated[str, text(max_length=32, pattern=r"[0-9a-f]{1,32}", hint="is not a call id")]
# Up to a year: a target is minutes from a ticket's opening to its due time.
Minutes = Annotated[Whole, Field(ge=1, le=525_600), WHOLE]


class NewTicket(Model):
    """POST /api/tickets: a ticket opened by hand (a call and a contact may be named)."""

    subject: Subject
    description: Description = ""
    priority: Priority = Priority.MEDIUM
    queue: QueueName | None = None
    assignee_user_id: UserId | None = None
    contact_id: UserId | None = None
    call_id: CallId | None = None


class TicketFromCall(Model):
    """POST /api/calls/{call_id}/ticket: what the agent adds to what the call already says (its
    caller's contact, its queue, the agent's notes)."""

    subject: Subject | None = None
    description: Description | None = None
    priority: Priority = Priority.MEDIUM
    queue: QueueName | None = None
    assignee_user_id: UserId | None = None


class TicketChange(Model):
    """PATCH /api/tickets/{id}: the fields given change, the others stay."""

    subject: Subject = left_out()
    description: Description = left_out()
    status: Status = left_out()
    priority: Priority = left_out()
    queue: QueueName | None = left_out()
    assignee_user_id: UserId | None = left_out()
    contact_id: UserId | None = left_out()


class NewComment(Model):
    body: Annotated[str, text(max_length=10_000, pattern=LINES, strip=False)]


class LinkedCall(Model):
    call_id: CallId


class Targets(Model):
    """PUT /api/tickets/targets: minutes from opening to due time, per priority."""

    low: Minutes
    medium: Minutes
    high: Minutes
    urgent: Minutes


class TicketQuery(Model):
    """GET /api/tickets: filters (all optional); `mine`: assigned to me; `overdue`: past due
    and still open, in progress or pending."""

    status: Status | None = None
    priority: Priority | None = None
    assignee_user_id: Annotated[int, Field(ge=1, le=2_147_483_647), QUERY_WHOLE] | None = None
    queue: Annotated[str, text(max_length=100)] | None = None
    contact_id: Annotated[int, Field(ge=1, le=2_147_483_647), QUERY_WHOLE] | None = None
    overdue: QueryFlag = False
    mine: QueryFlag = False
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100
