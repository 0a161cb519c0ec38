"""Outbound work over the database: lead lists (import, export, counts), call tasks (created by
hand, from the API, from a list, from a follow-up; their steps through leads.work's rules) and
the tasks' part of "My work". Its routes reach it through the app key LEADS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.crm.dispositions import CallOutcome
from pbx_stasis.crm.tables import ContactPhone
from pbx_stasis.dialing.compliance import Attempts, ComplianceRules, Purpose, Ruling
from pbx_stasis.dialing.compliance_store import Compliance
from pbx_stasis.dialing.tables import DoNotCallRow
from pbx_stasis.leads.importing import (
    MAX_CHARS,
    MAX_ROWS,
    ImportReport,
    LeadDraft,
    e164,
    read_leads,
)
from pbx_stasis.leads.tables import CallTask, Lead, LeadList
from pbx_stasis.leads.work import Change, LeadStatus, TaskStatus, WorkItem
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import Call, Direction
from pbx_stasis.web.routing import RouteRequest

CHUNK = 200  # rows per INSERT / IN list: a chunk holds the event loop a few ms
EXPORT_COLUMNS = ("number", "name", "time_zone", "status", "attempts", "last_outcome",
                  "last_attempt_at", "contact_id")


@dataclass(frozen=True)
class ListView:
    id: int
    name: str
    region: str
    created_at: datetime
    created_by: str
    counts: dict[str, int]  # leads by status
    total: int


@dataclass(frozen=True)
class TaskView:
    id: int
    number: str
    name: str | None
    lead_id: int | None
    contact_id: int | None
    owner_user_id: int | None
    owner_queue: str | None
    due_at: datetime
    priority: int
    status: str
    attempts: int
    last_outcome: str | None
    last_attempt_at: datetime | None
    outcome: str | None
    notes: str | None
    source: str
    call_id: str | None
    created_by: str
    created_at: datetime
    done_at: datetime | None


@dataclass(frozen=True)
class TaskDraft:
    """A new task: a number (E.164) and who owns it (a user or a queue)."""

    number: str
    due_at: datetime
    name: str | None = None
    owner_user_id: int | None = None
    owner_queue: str | None = None
    priority: int = 0
    lead_id: int | None = None
    contact_id: int | None = None
    notes: str | None = None


def _task(row: CallTask) -> TaskView:
    return TaskView(
        id=row.id, number=row.number, name=row.name, lead_id=row.lead_id,
        contact_id=row.contact_id, owner_user_id=row.owner_user_id, owner_queue=row.owner_queue,
        due_at=row.due_at, priority=row.priority, status=row.status, attempts=row.attempts,
        last_outcome=row.last_outcome, last_attempt_at=row.last_attempt_at, outcome=row.outcome,
        notes=row.notes, source=row.source, call_id=row.call_id, created_by=row.created_by,
        created_at=row.created_at, done_at=row.done_at)


async def _contacts_by_number(session: AsyncSession, tenant_id: int,
                              numbers: Sequence[str]) -> dict[str, int]:
    """The contact each number belongs to (the first, when several share it)."""
    found: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        rows = await session.execute(
            select(ContactPhone.number, func.min(ContactPhone.contact_id))
            .where(ContactPhone.tenant_id == tenant_id,
                   ContactPhone.number.in_(numbers[start:start + CHUNK]))
            .group_by(ContactPhone.number))
        found.update({number: contact for number, contact in rows})
    return found


class LeadLists:
    """The tenants' lead lists."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def lists(self, tenant_id: int, list_id: int | None = None) -> list[ListView]:
        """The tenant's lists (or one), each with its leads counted by status."""
        where = [LeadList.tenant_id == tenant_id]
        if list_id is not None:
            where.append(LeadList.id == list_id)
        async with self.db.session() as session:
            lists = list(await session.scalars(select(LeadList).where(*where)
                                               .order_by(LeadList.name)))
            counts: dict[int, dict[str, int]] = {row.id: {} for row in lists}
            if lists:
                rows = await session.execute(
                    select(Lead.list_id, Lead.status, func.count())
                    .where(Lead.tenant_id == tenant_id, Lead.list_id.in_(list(counts)))
                    .group_by(Lead.list_id, Lead.status))
                for found_list, status, count in rows:
                    counts[found_list][status] = count
        return [ListView(row.id, row.name, row.region, row.created_at, row.created_by,
                         {s.value: counts[row.id].get(s.value, 0) for s in LeadStatus},
                         sum(counts[row.id].values())) for row in lists]

    async def get(self, tenant_id: int, list_id: int) -> ListView | None:
        found = await self.lists(tenant_id, list_id)
        return found[0] if found else None

    async def import_csv(self, tenant_id: int, text: str, *, by: str, region: str | None,
                         name: str | None = None, list_id: int | None = None,
                         mapping: Mapping[str, str] | None = None, max_rows: int = MAX_ROWS,
                         max_chars: int = MAX_CHARS) -> tuple[ListView, ImportReport]:
        """Import a CSV into a new list `name` or the list `list_id` (its numbers already there
        are reported as duplicates; `region`: how a new list's national numbers are read, an
        existing list keeps its own). The file is read in a worker thread: a large one never
        holds the event loop that runs calls. ImportRefused: the file is unusable;
        AlreadyExists: a list of that name exists; LookupError: no list `list_id`."""
        known: dict[str, int] = {}
        if list_id is not None:
            async with self.db.session() as session:
                found = await session.scalar(select(LeadList).where(
                    LeadList.id == list_id, LeadList.tenant_id == tenant_id))
                if found is None:
                    raise LookupError("lead list")
                region = found.region
                known = {number: lead for number, lead in (await session.execute(
                    select(Lead.number, Lead.id).where(Lead.list_id == list_id)))}
        if region is None:
            raise ValueError("a new list needs the region its national numbers are read in")
        report = await asyncio.to_thread(read_leads, text, region=region, mapping=mapping,
                                         known=known, max_rows=max_rows, max_chars=max_chars)
        async with self.db.transaction() as tx:
            if list_id is None:
                assert name is not None
                if await tx.scalar(select(LeadList.id).where(LeadList.tenant_id == tenant_id,
                                                             LeadList.name == name)):
                    raise AlreadyExists(f"a lead list named {name!r} already exists")
                row = LeadList(tenant_id=tenant_id, name=name, region=region, created_by=by[:100],
                               created_at=utc_now())
                tx.add(row)
                await tx.flush()
                list_id = row.id
            contacts = await _contacts_by_number(tx, tenant_id, [d.number for d in report.leads])
            await self._insert(tx, tenant_id, list_id, report.leads, contacts)
        view = await self.get(tenant_id, list_id)
        assert view is not None
        return view, report

    @staticmethod
    async def _insert(tx: AsyncSession, tenant_id: int, list_id: int,
                      drafts: Sequence[LeadDraft], contacts: Mapping[str, int]) -> None:
        # Core executemany in chunks, the loop free between them (an ORM flush of thousands
        # of objects held it for half a second).
        now = utc_now()
        for start in range(0, len(drafts), CHUNK):
            await tx.execute(insert(Lead), [
                {"tenant_id": tenant_id, "list_id": list_id, "number": d.number,
                 "name": d.name, "time_zone": d.time_zone, "contact_id": contacts.get(d.number),
                 "custom_fields": d.custom_fields, "status": LeadStatus.NEW.value,
                 "attempts": 0, "line": d.line, "created_at": now}
                for d in drafts[start:start + CHUNK]])
            await asyncio.sleep(0)

    async def export(self, tenant_id: int, list_id: int) -> tuple[list[str], list[dict[str, Any]]]:
        """The list's leads as CSV columns and rows (custom fields as columns of their own);
        LookupError when the tenant has no such list."""
        async with self.db.session() as session:
            if await session.scalar(select(LeadList.id).where(
                    LeadList.id == list_id, LeadList.tenant_id == tenant_id)) is None:
                raise LookupError("lead list")
            leads = list(await session.scalars(select(Lead).where(Lead.list_id == list_id)
                                               .order_by(Lead.id)))
        custom: list[str] = []
        for lead in leads:
            custom.extend(k for k in lead.custom_fields if k not in custom
                          and k not in EXPORT_COLUMNS)
        rows = [{**{k: lead.custom_fields.get(k) for k in custom},
                 "number": lead.number, "name": lead.name, "time_zone": lead.time_zone,
                 "status": lead.status, "attempts": lead.attempts,
                 "last_outcome": lead.last_outcome,
                 "last_attempt_at": lead.last_attempt_at.isoformat()
                 if lead.last_attempt_at else None, "contact_id": lead.contact_id}
                for lead in leads]
        return [*EXPORT_COLUMNS, *custom], rows

    async def zone_of(self, tenant_id: int, number: str) -> str | None:
        """The time zone a lead with this number gave (compliance's calling hours use it)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(Lead.time_zone).where(Lead.tenant_id == tenant_id, Lead.number == number,
                                             Lead.time_zone.is_not(None)).limit(1))


class CallTasks:
    """The tenants' call tasks. `compliance` judges a task's call (attempts, retry delays) and
    gives the rules of its unanswered attempts."""

    def __init__(self, db: Database, compliance: Compliance) -> None:
        self.db = db
        self.compliance = compliance

    async def create(self, tenant_id: int, draft: TaskDraft, *, by: str,
                     source: str) -> TaskView:
        async with self.db.transaction() as tx:
            row = await self._add(tx, tenant_id, draft, by=by, source=source)
            return _task(row)

    async def _add(self, tx: AsyncSession, tenant_id: int, draft: TaskDraft, *, by: str,
                   source: str) -> CallTask:
        contact = draft.contact_id
        if contact is None:
            contact = (await _contacts_by_number(tx, tenant_id, [draft.number])).get(draft.number)
        now = utc_now()
        row = CallTask(tenant_id=tenant_id, number=draft.number, name=draft.name,
                       lead_id=draft.lead_id, contact_id=contact,
                       owner_user_id=draft.owner_user_id, owner_queue=draft.owner_queue,
                       due_at=draft.due_at, priority=draft.priority, status=TaskStatus.OPEN.value,
                       attempts=0, notes=draft.notes, source=source, created_by=by[:100],
                       created_at=now, updated_at=now)
        tx.add(row)
        await tx.flush()
        return row

    async def from_list(self, tenant_id: int, list_id: int, *, owner_user_id: int | None,
                        owner_queue: str | None, due_at: datetime, priority: int,
                        by: str) -> int:
        """One task per lead of the list that has none yet (status new); how many were made.
        LookupError when the tenant has no such list."""
        async with self.db.transaction() as tx:
            if await tx.scalar(select(LeadList.id).where(
                    LeadList.id == list_id, LeadList.tenant_id == tenant_id)) is None:
                raise LookupError("lead list")
            leads = list(await tx.scalars(
                select(Lead).where(Lead.list_id == list_id, Lead.status == LeadStatus.NEW.value)
                .order_by(Lead.id).with_for_update()))
            now = utc_now()
            for start in range(0, len(leads), CHUNK):
                await tx.execute(insert(CallTask), [{
                    "tenant_id": tenant_id, "number": lead.number, "name": lead.name,
                    "lead_id": lead.id, "contact_id": lead.contact_id,
                    "owner_user_id": owner_user_id, "owner_queue": owner_queue,
                    "due_at": due_at, "priority": priority, "status": TaskStatus.OPEN.value,
                    "attempts": lead.attempts, "last_outcome": lead.last_outcome,
                    "last_attempt_at": lead.last_attempt_at, "source": "list",
                    "created_by": by[:100], "created_at": now, "updated_at": now}
                    for lead in leads[start:start + CHUNK]])
                await asyncio.sleep(0)
            if leads:
                await tx.execute(update(Lead).where(Lead.id.in_([lead.id for lead in leads]))
                                 .values(status=LeadStatus.OPEN.value)
                                 .execution_options(synchronize_session=False))
            return len(leads)

    async def from_follow_up(self, tx: AsyncSession, tenant_id: int, *, user_id: int,
                             call_id: str, number: str | None, name: str | None,
                             due_on: date) -> None:
        """The follow-up an agent promised in wrap-up, as a task of theirs due that day (one per
        call: a second wrap-up moves it). Runs in the outcome's own transaction."""
        due_at = datetime.combine(due_on, time(), tzinfo=utc_now().tzinfo)
        existing = await tx.scalar(select(CallTask).where(
            CallTask.tenant_id == tenant_id, CallTask.source == "follow-up",
            CallTask.notes == f"follow-up of call {call_id}"))
        if existing is not None:
            if existing.status not in (TaskStatus.DONE, TaskStatus.CANCELLED):
                existing.due_at = due_at
                existing.owner_user_id = user_id
                existing.updated_at = utc_now()
            return
        if not number:
            return
        await self._add(tx, tenant_id, TaskDraft(number=number, name=name, due_at=due_at,
                                                 owner_user_id=user_id,
                                                 notes=f"follow-up of call {call_id}"),
                        by="wrap-up", source="follow-up")

    async def get(self, tenant_id: int, task_id: int) -> TaskView | None:
        async with self.db.session() as session:
            row = await session.scalar(select(CallTask).where(
                CallTask.id == task_id, CallTask.tenant_id == tenant_id))
            return _task(row) if row is not None else None

    async def tasks(self, tenant_id: int, *, status: str | None = None,
                    owner_user_id: int | None = None, queues: Sequence[str] = (),
                    list_id: int | None = None, limit: int = 100) -> list[TaskView]:
        """The tenant's tasks, earliest due first; with `owner_user_id`, those it owns and
        those of `queues`."""
        where: list[Any] = [CallTask.tenant_id == tenant_id]
        if status is not None:
            where.append(CallTask.status == status)
        if owner_user_id is not None:
            mine = CallTask.owner_user_id == owner_user_id
            where.append(or_(mine, CallTask.owner_queue.in_(list(queues))) if queues else mine)
        if list_id is not None:
            where.append(CallTask.lead_id.in_(select(Lead.id).where(Lead.list_id == list_id)))
        async with self.db.session() as session:
            rows = await session.scalars(select(CallTask).where(*where).order_by(
                CallTask.due_at, CallTask.priority.desc(), CallTask.id).limit(limit))
            return [_task(row) for row in rows]

    async def work(self, tenant_id: int, user_id: int, queues: Sequence[str]) -> list[WorkItem]:
        """The tasks in an agent's "My work": open or in progress, theirs or their queues'."""
        found = [*await self.tasks(tenant_id, status=TaskStatus.OPEN.value,
                                   owner_user_id=user_id, queues=queues, limit=200),
                 *await self.tasks(tenant_id, status=TaskStatus.IN_PROGRESS.value,
                                   owner_user_id=user_id, queues=queues, limit=50)]
        return [WorkItem(kind="follow-up" if t.source == "follow-up" else "task", id=str(t.id),
                         number=t.number, name=t.name, due_at=t.due_at, priority=t.priority,
                         status=t.status,
                         detail={"task_id": t.id, "attempts": t.attempts,
                                 "last_outcome": t.last_outcome, "owner_queue": t.owner_queue,
                                 "lead_id": t.lead_id, "contact_id": t.contact_id,
                                 "notes": t.notes})
                for t in found]

    async def rules(self, tenant_id: int) -> ComplianceRules:
        return await self.compliance.rules(tenant_id)

    async def may_call(self, tenant_id: int, task: TaskView, *, by: str,
                       user_id: int) -> Ruling:
        """Compliance on the task's next call, with its attempts (list work's rules); a
        refusal is journaled like every refused dial."""
        ruling = await self.compliance.check(
            tenant_id, task.number, purpose=Purpose.TASK,
            attempts=Attempts(task.attempts, task.last_outcome, task.last_attempt_at))
        if not ruling.allowed:
            self.compliance.journal_refusal(tenant_id, task.number, ruling,
                                            agent_user_id=user_id, by=by)
        return ruling

    async def step(self, tenant_id: int, task_id: int,
                   decide: Callable[[TaskView], Change | Awaitable[Change]], *,
                   notes: str | None = None, call_id: str | None = None) -> TaskView:
        """Apply one of leads.work's steps to a task (row locked meanwhile), mirrored on its
        lead; LookupError: no such task; TaskRefused: the step does not apply."""
        async with self.db.transaction() as tx:
            row = await tx.scalar(select(CallTask).where(
                CallTask.id == task_id, CallTask.tenant_id == tenant_id).with_for_update())
            if row is None:
                raise LookupError("task")
            decided = decide(_task(row))
            change = await decided if not isinstance(decided, Change) else decided
            now = utc_now()
            row.status = change.status.value
            row.updated_at = now
            if change.due_at is not None:
                row.due_at = change.due_at
            if change.attempts is not None:
                row.attempts = change.attempts
                row.last_outcome = change.last_outcome
                row.last_attempt_at = now
            if change.outcome is not None:
                row.outcome = change.outcome[:100]
            if notes is not None:
                row.notes = notes[:2000]
            if call_id is not None:
                row.call_id = call_id
            if change.done:
                row.done_at = now
            if row.lead_id is not None:
                await self._mirror(tx, row, change)
            return _task(row)

    @staticmethod
    async def _mirror(tx: AsyncSession, row: CallTask, change: Change) -> None:
        values: dict[str, Any] = {
            "status": {TaskStatus.DONE: LeadStatus.DONE,
                       TaskStatus.CANCELLED: LeadStatus.CANCELLED}.get(
                           change.status, LeadStatus.OPEN).value}
        if change.attempts is not None:
            values.update(attempts=row.attempts, last_outcome=row.last_outcome,
                          last_attempt_at=row.last_attempt_at)
        elif change.outcome is not None:
            values["last_outcome"] = change.outcome[:100]
        await tx.execute(update(Lead).where(Lead.id == row.lead_id).values(**values)
                         .execution_options(synchronize_session=False))


async def _customer_number(tx: AsyncSession, tenant_id: int, call_id: str,
                           region: str) -> str | None:
    """The customer's number on a call (the caller, or whom the agent dialled) in E.164."""
    call = await tx.scalar(select(Call).where(Call.id == call_id, Call.tenant_id == tenant_id))
    if call is None:
        return None
    raw = call.to_number if call.direction == Direction.OUTBOUND else call.from_number
    return e164(raw or "", region)


@dataclass
class Leads:
    """Outbound work's stores, and the sources of "My work" (this feature's tasks first; other
    features add theirs, e.g. queued callbacks)."""

    lists: LeadLists
    tasks: CallTasks
    compliance: Compliance
    work_sources: list[WorkSource] = field(default_factory=list)

    @classmethod
    def over(cls, db: Database, region: str) -> Leads:
        lists = LeadLists(db)
        compliance = Compliance(db, region, zone_of=lists.zone_of)
        tasks = CallTasks(db, compliance)
        return cls(lists, tasks, compliance, [tasks.work])

    async def on_outcome(self, tx: AsyncSession, tenant_id: int, user_id: int,
                         outcome: CallOutcome) -> None:
        """An agent's wrap-up (crm's Outcomes hook, in its transaction): the follow-up date
        becomes a task of theirs; a do-not-call disposition puts the number on the list."""
        rules = await self.compliance.rules(tenant_id)
        number = await _customer_number(tx, tenant_id, outcome.call_id, rules.region)
        if outcome.follow_up_on is not None:
            await self.tasks.from_follow_up(tx, tenant_id, user_id=user_id,
                                            call_id=outcome.call_id, number=number, name=None,
                                            due_on=outcome.follow_up_on)
        if number and outcome.disposition in rules.dnc_dispositions:
            present = await tx.scalar(select(DoNotCallRow.id).where(
                DoNotCallRow.tenant_id == tenant_id, DoNotCallRow.number == number))
            if present is None:
                tx.add(DoNotCallRow(tenant_id=tenant_id, number=number,
                                    reason=f"disposition {outcome.disposition}"[:200],
                                    source="disposition", added_by=f"user {user_id}",
                                    added_at=utc_now()))


# (tenant_id, user_id, the agent's queues) -> their items of that source
WorkSource = Callable[[int, int, Sequence[str]], Awaitable[list[WorkItem]]]
LEADS: web.AppKey[Leads] = web.AppKey("leads")


def leads_of(req: RouteRequest) -> Leads:
    return req.http.app[LEADS]
