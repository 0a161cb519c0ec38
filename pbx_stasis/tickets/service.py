"""The tickets' service as the web side holds it: the tickets over the database, each change
written with its history rows in one transaction and published on ticket:changed. Its routes
(http.py) reach it through the app key TICKETS, which the plugin fills."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.bus import Bus
from pbx_stasis.crm.contacts import ContactRecord
from pbx_stasis.crm.tables import Contact
from pbx_stasis.crm.timeline import TimelineEntry, Viewer
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, Role, User
from pbx_stasis.tickets.core import (
    ACTIVE,
    Priority,
    Status,
    changes,
    check_move,
    due_at,
    is_overdue,
    targets_of,
)
from pbx_stasis.tickets.events import TICKET_CHANGED, TicketChanged, TicketCreated, TicketUpdated
from pbx_stasis.tickets.tables import (
    TicketCall,
    TicketComment,
    TicketHistory,
    TicketRow,
    TicketTargets,
)

# The agents who take a queue's calls (who may read its tickets' events on the feed).
QueueMembers = Callable[[int, str], Awaitable[set[int]]]


class TicketRefused(ValueError):
    """A ticket's field names something the tenant does not have (`field`: which)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TicketRecord:
    id: int
    subject: str
    description: str
    status: Status
    priority: Priority
    queue: str | None
    assignee_user_id: int | None
    assignee_name: str | None
    contact_id: int | None
    contact_name: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class CommentRecord:
    id: int
    user_id: int | None
    user_name: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True)
class HistoryRecord:
    at: datetime
    user_id: int | None
    user_name: str | None
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class LinkedCallRecord:
    call_id: str
    started_at: datetime
    from_number: str
    to_number: str
    queue: str | None
    agent_user_id: int | None


@dataclass(frozen=True)
class TicketDraft:
    """A new ticket, once its references are known to be the tenant's."""

    subject: str
    description: str = ""
    priority: Priority = Priority.MEDIUM
    queue: str | None = None
    assignee_user_id: int | None = None
    contact_id: int | None = None
    call_id: str | None = None


# The fields a change may touch, in the order history rows are written.
CHANGEABLE = ("subject", "description", "status", "priority", "queue", "assignee_user_id",
              "contact_id", "due_at")


def _state(row: TicketRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in CHANGEABLE}


def in_scope(viewer: Viewer) -> Any:
    """The tickets an agent may see: theirs, opened by them, or their queues'."""
    return or_(
        TicketRow.assignee_user_id == viewer.user_id,
        TicketRow.created_by == viewer.user_id,
        TicketRow.queue.in_(viewer.queues),
    )


class Tickets:
    """The tenant's tickets. Every method stays within one tenant; agents' reads within their
    scope (`in_scope`)."""

    def __init__(self, db: Database, bus: Bus, members: QueueMembers | None = None) -> None:
        self._db = db
        self._bus = bus
        self._members = members

    # -- reading -------------------------------------------------------------------------------

    def _select(self, tenant_id: int) -> Select[Any]:
        assignee = User.__table__.alias("assignee")
        return (
            select(TicketRow, assignee.c.display_name, Contact.name)
            .outerjoin(assignee, assignee.c.id == TicketRow.assignee_user_id)
            .outerjoin(Contact, Contact.id == TicketRow.contact_id)
            .where(TicketRow.tenant_id == tenant_id)
        )

    async def get(
        self, tenant_id: int, ticket_id: int, viewer: Viewer | None = None
    ) -> TicketRecord | None:
        statement = self._select(tenant_id).where(TicketRow.id == ticket_id)
        if viewer is not None and viewer.role is Role.AGENT:
            statement = statement.where(in_scope(viewer))
        async with self._db.session() as session:
            found = (await session.execute(statement)).first()
        return _record(*found) if found is not None else None

    async def search(
        self, tenant_id: int, viewer: Viewer, now: datetime, *,
        status: Status | None = None, priority: Priority | None = None,
        assignee_user_id: int | None = None, queue: str | None = None,
        contact_id: int | None = None, overdue: bool = False, limit: int = 100,
    ) -> list[TicketRecord]:
        """Tickets by the filters given, the soonest due first (closed ones last)."""
        statement = self._select(tenant_id)
        if viewer.role is Role.AGENT:
            statement = statement.where(in_scope(viewer))
        if status is not None:
            statement = statement.where(TicketRow.status == status.value)
        if priority is not None:
            statement = statement.where(TicketRow.priority == priority.value)
        if assignee_user_id is not None:
            statement = statement.where(TicketRow.assignee_user_id == assignee_user_id)
        if queue is not None:
            statement = statement.where(TicketRow.queue == queue)
        if contact_id is not None:
            statement = statement.where(TicketRow.contact_id == contact_id)
        if overdue:
            statement = statement.where(
                TicketRow.status.in_([s.value for s in ACTIVE]), TicketRow.due_at < now
            )
        active_first = TicketRow.status.in_([s.value for s in ACTIVE]).desc()
        statement = statement.order_by(active_first, TicketRow.due_at, TicketRow.id).limit(limit)
        async with self._db.session() as session:
            return [_record(*found) for found in (await session.execute(statement)).all()]

    async def detail(
        self, tenant_id: int, ticket_id: int
    ) -> tuple[list[CommentRecord], list[HistoryRecord], list[LinkedCallRecord]]:
        """A ticket's comments and history (oldest first) and its linked calls."""
        async with self._db.session() as session:
            comments = [
                CommentRecord(row.id, row.user_id, name, row.body, row.created_at)
                for row, name in (await session.execute(
                    select(TicketComment, User.display_name)
                    .outerjoin(User, User.id == TicketComment.user_id)
                    .where(TicketComment.ticket_id == ticket_id,
                           TicketComment.tenant_id == tenant_id)
                    .order_by(TicketComment.created_at, TicketComment.id)
                )).all()
            ]
            history = [
                HistoryRecord(row.at, row.user_id, name, row.field, row.old, row.new)
                for row, name in (await session.execute(
                    select(TicketHistory, User.display_name)
                    .outerjoin(User, User.id == TicketHistory.user_id)
                    .where(TicketHistory.ticket_id == ticket_id,
                           TicketHistory.tenant_id == tenant_id)
                    .order_by(TicketHistory.at, TicketHistory.id)
                )).all()
            ]
            calls = [
                LinkedCallRecord(call.id, call.started_at, call.from_number, call.to_number,
                                 call.queue, call.agent_user_id)
                for call in await session.scalars(
                    select(Call)
                    .join(TicketCall, TicketCall.call_id == Call.id)
                    .where(TicketCall.ticket_id == ticket_id, TicketCall.tenant_id == tenant_id)
                    .order_by(Call.started_at)
                )
            ]
        return comments, history, calls

    async def targets(self, tenant_id: int) -> dict[Priority, int]:
        async with self._db.session() as session:
            row = await session.get(TicketTargets, tenant_id)
        return targets_of(row.minutes if row is not None else None)

    # -- checks of what a ticket names --------------------------------------------------------

    async def _check_refs(self, session: AsyncSession, tenant_id: int,
                          values: Mapping[str, Any]) -> None:
        assignee = values.get("assignee_user_id")
        if assignee is not None and await session.scalar(select(User.id).where(
                User.id == assignee, User.tenant_id == tenant_id,
                User.disabled.is_(False))) is None:
            raise TicketRefused("assignee_user_id", "is not one of your users")
        contact = values.get("contact_id")
        if contact is not None and await session.scalar(select(Contact.id).where(
                Contact.id == contact, Contact.tenant_id == tenant_id)) is None:
            raise TicketRefused("contact_id", "is not one of your contacts")
        call_id = values.get("call_id")
        if call_id is not None and await session.scalar(select(Call.id).where(
                Call.id == call_id, Call.tenant_id == tenant_id)) is None:
            raise TicketRefused("call_id", "is not one of your calls")

    # -- changing ------------------------------------------------------------------------------

    async def create(
        self, tenant_id: int, draft: TicketDraft, by_user_id: int | None, now: datetime
    ) -> TicketRecord:
        """Open a ticket, due by the tenant's target for its priority; its history starts with
        one row per field it was opened with."""
        targets = await self.targets(tenant_id)
        async with self._db.transaction() as tx:
            await self._check_refs(tx, tenant_id, vars(draft))
            row = TicketRow(
                tenant_id=tenant_id, subject=draft.subject, description=draft.description,
                status=Status.OPEN.value, priority=draft.priority.value, queue=draft.queue,
                assignee_user_id=draft.assignee_user_id, contact_id=draft.contact_id,
                created_by=by_user_id, created_at=now, updated_at=now,
                due_at=due_at(now, draft.priority, targets),
            )
            tx.add(row)
            await tx.flush()
            # What it was opened with, the empty fields left out.
            opened = [change for change in changes({}, _state(row)) if change.new]
            self._history(tx, row, by_user_id, now, opened)
            if draft.call_id is not None:
                tx.add(TicketCall(ticket_id=row.id, call_id=draft.call_id, tenant_id=tenant_id,
                                  linked_at=now))
                self._history(tx, row, by_user_id, now, changes({}, {"call": draft.call_id}))
            ticket_id = row.id
        record = await self.get(tenant_id, ticket_id)
        assert record is not None
        await self._publish(tenant_id, record, TicketCreated, by_user_id,
                            tuple(name for name in CHANGEABLE))
        return record

    async def update(
        self, tenant_id: int, ticket_id: int, wanted: Mapping[str, Any], by_user_id: int | None,
        now: datetime, viewer: Viewer | None = None,
    ) -> TicketRecord | None:
        """Change the given fields (a status move checked by tickets.core, MoveRefused else; a
        new priority moves the due time by the tenant's target); None if no such ticket."""
        targets = await self.targets(tenant_id)
        async with self._db.transaction() as tx:
            statement = select(TicketRow).where(
                TicketRow.id == ticket_id, TicketRow.tenant_id == tenant_id)
            if viewer is not None and viewer.role is Role.AGENT:
                statement = statement.where(in_scope(viewer))
            row = await tx.scalar(statement.with_for_update())
            if row is None:
                return None
            await self._check_refs(tx, tenant_id, wanted)
            before = _state(row)
            if "status" in wanted:
                check_move(Status(row.status), Status(wanted["status"]))
            for name, value in wanted.items():
                setattr(row, name, value.value if isinstance(value, Status | Priority) else value)
            if "priority" in wanted and wanted["priority"] != before["priority"]:
                row.due_at = due_at(row.created_at, Priority(row.priority), targets)
            changed = changes(before, _state(row))
            if not changed:
                return await self.get(tenant_id, ticket_id)
            row.updated_at = now
            self._history(tx, row, by_user_id, now, changed)
        record = await self.get(tenant_id, ticket_id)
        assert record is not None
        await self._publish(tenant_id, record, TicketUpdated, by_user_id,
                            tuple(change.field for change in changed))
        return record

    async def comment(
        self, tenant_id: int, ticket: TicketRecord, by_user_id: int, body: str, now: datetime
    ) -> CommentRecord:
        async with self._db.transaction() as tx:
            row = TicketComment(ticket_id=ticket.id, tenant_id=tenant_id, user_id=by_user_id,
                                body=body, created_at=now)
            tx.add(row)
            await tx.flush()
            await self._touch(tx, ticket.id, now)
            comment_id = row.id
            name = await tx.scalar(select(User.display_name).where(User.id == by_user_id))
        await self._publish(tenant_id, ticket, TicketUpdated, by_user_id, ("comment",))
        return CommentRecord(comment_id, by_user_id, name, body, now)

    async def link_call(
        self, tenant_id: int, ticket: TicketRecord, call_id: str, by_user_id: int, now: datetime
    ) -> bool:
        """Link a call of the tenant to the ticket; False if it was linked already."""
        async with self._db.transaction() as tx:
            await self._check_refs(tx, tenant_id, {"call_id": call_id})
            if await tx.get(TicketCall, (ticket.id, call_id)) is not None:
                return False
            tx.add(TicketCall(ticket_id=ticket.id, call_id=call_id, tenant_id=tenant_id,
                              linked_at=now))
            row = await tx.get(TicketRow, ticket.id)
            assert row is not None
            self._history(tx, row, by_user_id, now, changes({}, {"call": call_id}))
            await self._touch(tx, ticket.id, now)
        await self._publish(tenant_id, ticket, TicketUpdated, by_user_id, ("call",))
        return True

    async def set_targets(self, tenant_id: int, minutes: Mapping[str, int],
                          now: datetime) -> dict[Priority, int]:
        """The tenant's targets for tickets opened from now on (open tickets keep their due)."""
        async with self._db.transaction() as tx:
            row = await tx.get(TicketTargets, tenant_id)
            if row is None:
                tx.add(TicketTargets(tenant_id=tenant_id, minutes=dict(minutes), updated_at=now))
            else:
                row.minutes = dict(minutes)
                row.updated_at = now
        return targets_of(minutes)

    async def delete_for_tenant(self, tenant_id: int) -> None:
        """Every ticket of a tenant (tests and the demo's reset)."""
        async with self._db.transaction() as tx:
            ids = select(TicketRow.id).where(TicketRow.tenant_id == tenant_id)
            for table in (TicketCall, TicketComment, TicketHistory):
                await tx.execute(delete(table).where(table.ticket_id.in_(ids)))
            await tx.execute(delete(TicketRow).where(TicketRow.tenant_id == tenant_id))

    def _history(self, tx: AsyncSession, row: TicketRow, by_user_id: int | None,
                 now: datetime, changed: Sequence[Any]) -> None:
        for change in changed:
            tx.add(TicketHistory(ticket_id=row.id, tenant_id=row.tenant_id, user_id=by_user_id,
                                 at=now, field=change.field, old=change.old, new=change.new))

    async def _touch(self, tx: AsyncSession, ticket_id: int, now: datetime) -> None:
        row = await tx.get(TicketRow, ticket_id)
        if row is not None:
            row.updated_at = now

    # -- the feed ------------------------------------------------------------------------------

    async def _audience(self, tenant_id: int, ticket: TicketRecord) -> tuple[int, ...]:
        users = {user for user in (ticket.assignee_user_id, ticket.created_by) if user}
        if ticket.queue is not None and self._members is not None:
            users |= await self._members(tenant_id, ticket.queue)
        return tuple(sorted(users))

    async def _publish(self, tenant_id: int, ticket: TicketRecord,
                       kind: type[TicketChanged], by_user_id: int | None,
                       changed: tuple[str, ...]) -> None:
        if not self._bus.listened(TICKET_CHANGED, tenant_id):
            return  # nobody reads: spare the audience's query
        event = kind(
            ticket_id=ticket.id, subject=ticket.subject, status=ticket.status.value,
            priority=ticket.priority.value, queue=ticket.queue,
            assignee_user_id=ticket.assignee_user_id, contact_id=ticket.contact_id,
            due_at=ticket.due_at, updated_at=ticket.updated_at, by_user_id=by_user_id,
            fields=changed, audience=await self._audience(tenant_id, ticket),
        )
        self._bus.publish(TICKET_CHANGED, tenant_id, event)

    # -- the contact's timeline ---------------------------------------------------------------

    def timeline_source(self) -> TicketsSource:
        return TicketsSource(self)


class TicketsSource:
    """The contact's tickets on their timeline (an agent's: within their scope)."""

    name = "tickets"

    def __init__(self, tickets: Tickets) -> None:
        self._tickets = tickets

    async def entries(
        self, contact: ContactRecord, viewer: Viewer, limit: int
    ) -> list[TimelineEntry]:
        found = await self._tickets.search(
            viewer.tenant_id, viewer, utc_now(), contact_id=contact.id, limit=limit)
        return [
            TimelineEntry(ticket.created_at, "ticket", ticket.subject, {
                "ticket_id": ticket.id, "status": ticket.status.value,
                "priority": ticket.priority.value, "link": f"/tickets/{ticket.id}",
            })
            for ticket in sorted(found, key=lambda t: t.created_at, reverse=True)
        ]


def _record(row: TicketRow, assignee_name: str | None, contact_name: str | None) -> TicketRecord:
    return TicketRecord(
        id=row.id, subject=row.subject, description=row.description, status=Status(row.status),
        priority=Priority(row.priority), queue=row.queue, assignee_user_id=row.assignee_user_id,
        assignee_name=assignee_name, contact_id=row.contact_id, contact_name=contact_name,
        created_by=row.created_by, created_at=row.created_at, updated_at=row.updated_at,
        due_at=row.due_at,
    )


def ticket_json(ticket: TicketRecord, now: datetime) -> dict[str, Any]:
    data = {spec.name: getattr(ticket, spec.name) for spec in fields(ticket)}
    data["overdue"] = is_overdue(ticket.status, ticket.due_at, now)
    return data


TICKETS: web.AppKey[Tickets] = web.AppKey("tickets", Tickets)

