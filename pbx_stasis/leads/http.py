"""API of outbound work: lead lists (import, export, counts), call tasks and their steps, the
agent's "My work", do-not-call lists, compliance settings and the log of refused dials."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, Field

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.dialing.compliance import (
    ComplianceFields,
    ComplianceInvalid,
    Purpose,
    checked_rules,
    rules_json,
)
from pbx_stasis.leads.importing import ImportRefused, e164, read_leads
from pbx_stasis.leads.service import ListView, TaskDraft, TaskView, leads_of
from pbx_stasis.leads.work import (
    Change,
    TaskRefused,
    TaskStatus,
    cancel,
    finish,
    merged,
    start_call,
    unanswered,
)
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import (
    LINES,
    QUERY_WHOLE,
    WHOLE,
    Count,
    Model,
    ModelBody,
    ModelQuery,
    Whole,
    text,
)
from pbx_stasis.web.contract import ServiceError
from pbx_stasis.web.csvfile import csv_text
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    at_least,
    conflict,
    invalid,
    no_content,
    not_found,
    reply,
)

SUPERVISORS = at_least(Role.SUPERVISOR)
ADMIN = frozenset({Role.ADMIN})
PHONE_HINT = "is not a valid phone number: write it in international form, e.g. +14155550100"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry its time zone, e.g. 2026-12-02T09:00:00Z")
    if not 1970 <= value.year <= 2999:
        raise ValueError("must be from 1970 to 2999")
    return value.astimezone(UTC)


When = Annotated[datetime, AfterValidator(_aware)]
Csv = Annotated[str, text(max_length=2_000_000, pattern=LINES, strip=False)]
Column = Annotated[str, text(max_length=100)]
Priority = Annotated[Whole, Field(ge=-100, le=100), WHOLE]
Number = Annotated[str, text(max_length=64)]


class ColumnMapping(Model):
    """Which column holds each lead field (left out: a column named phone/number, name,
    time zone)."""

    number: Column | None = None
    name: Column | None = None
    time_zone: Column | None = None


class NewList(Model):
    """POST /api/leads/lists: a new list from a CSV file (its text)."""

    name: Annotated[str, text(max_length=100)]
    csv: Csv
    mapping: ColumnMapping = ColumnMapping()
    region: Annotated[str, text(min_length=2, max_length=2, pattern="[A-Za-z]{2}",
                                hint="must be a two-letter country code, e.g. US")] | None = None


class MoreLeads(Model):
    """POST /api/leads/lists/{list_id}/import: more leads for the list."""

    csv: Csv
    mapping: ColumnMapping = ColumnMapping()


class Owner(Model):
    """Who a task belongs to: an agent (user id) or a queue (left out: whoever creates it)."""

    owner_user_id: Count | None = None
    owner_queue: Annotated[str, text(max_length=100)] | None = None


class ListTasks(Owner):
    """POST /api/leads/lists/{list_id}/tasks: one task per lead not worked yet."""

    due_at: When | None = None
    priority: Priority = 0


class NewTask(Owner):
    """POST /api/tasks: call this number."""

    number: Number
    name: Annotated[str, text(max_length=200)] | None = None
    due_at: When | None = None
    priority: Priority = 0
    notes: Annotated[str, text(min_length=0, max_length=2000, pattern=LINES,
                               strip=False)] | None = None


class TaskQuery(Model):
    """GET /api/tasks."""

    status: TaskStatus | None = None
    owner_user_id: Annotated[int, Field(ge=1, le=2**31 - 1), QUERY_WHOLE] | None = None
    list_id: Annotated[int, Field(ge=1, le=2**31 - 1), QUERY_WHOLE] | None = None
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100


class TaskCall(Model):
    """POST /api/tasks/{task_id}/call: the caller ID to present (left out: the default)."""

    caller_id: Annotated[str, text(max_length=16, pattern=r"\+[1-9][0-9]{1,14}",
                                   hint="must be a number in E.164, e.g. +14155550100")] | None \
        = None


class TaskDone(Model):
    """POST /api/tasks/{task_id}/done: what came of the call (required), and notes."""

    outcome: Annotated[str, text(max_length=100)]
    notes: Annotated[str, text(min_length=0, max_length=2000, pattern=LINES,
                               strip=False)] | None = None


class TaskUnanswered(Model):
    """POST /api/tasks/{task_id}/unanswered: why nobody answered."""

    result: Literal["busy", "no-answer", "machine"]


class DncAdd(Model):
    """POST /api/dnc: numbers for the tenant's do-not-call list."""

    numbers: Annotated[tuple[Number, ...], Field(min_length=1, max_length=1000)]
    reason: Annotated[str, text(max_length=200)] | None = None


class DncImport(Model):
    """POST /api/dnc/import: a CSV file whose `column` (left out: phone/number) holds
    numbers."""

    csv: Csv
    column: Column | None = None
    reason: Annotated[str, text(max_length=200)] | None = None


class DncQuery(Model):
    number: Annotated[str, text(min_length=0, max_length=16, pattern=r"\+?[0-9]*",
                                hint="must be the start of a number, e.g. +1415")] = ""
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100
    offset: Annotated[int, Field(ge=0, le=2**31 - 1), QUERY_WHOLE] = 0


class CheckQuery(Model):
    """GET /api/compliance/check."""

    number: Number
    purpose: Purpose = Purpose.AGENT


class RefusalQuery(Model):
    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100
    before: Annotated[int, Field(ge=1, le=2**62), QUERY_WHOLE] | None = None


def list_json(item: ListView) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "region": item.region,
            "created_at": item.created_at, "created_by": item.created_by,
            "counts": item.counts, "total": item.total}


def task_json(task: TaskView) -> dict[str, Any]:
    return {name: getattr(task, name) for name in TaskView.__dataclass_fields__}


def _refused(exc: ImportRefused) -> WebError:
    return invalid(exc.problems)


def _mapping(body: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (body.get("mapping") or {}).items() if v}


async def get_lead_lists(req: RouteRequest) -> web.StreamResponse:
    found = await leads_of(req).lists.lists(req.who.tenant_id)
    return reply({"lists": [list_json(item) for item in found]})


async def create_lead_list(req: RouteRequest) -> web.StreamResponse:
    leads = leads_of(req)
    region = (req.body.get("region") or (await leads.compliance.rules(req.who.tenant_id)).region)
    try:
        view, report = await leads.lists.import_csv(
            req.who.tenant_id, req.body["csv"], by=req.who.username, region=region.upper(),
            name=req.body["name"], mapping=_mapping(req.body))
    except ImportRefused as exc:
        raise _refused(exc) from None
    except AlreadyExists as exc:
        raise invalid({"name": str(exc)}) from None
    return reply({"list": list_json(view), "report": report.summary()}, status=201)


async def import_leads(req: RouteRequest) -> web.StreamResponse:
    try:
        view, report = await leads_of(req).lists.import_csv(
            req.who.tenant_id, req.body["csv"], by=req.who.username, region=None,
            list_id=req.int_param("list_id", "lead list"), mapping=_mapping(req.body))
    except ImportRefused as exc:
        raise _refused(exc) from None
    except LookupError:
        raise not_found("lead list") from None
    return reply({"list": list_json(view), "report": report.summary()})


async def export_leads(req: RouteRequest) -> web.StreamResponse:
    list_id = req.int_param("list_id", "lead list")
    try:
        columns, rows = await leads_of(req).lists.export(req.who.tenant_id, list_id)
    except LookupError:
        raise not_found("lead list") from None
    return web.Response(text=csv_text(columns, rows), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="leads-{list_id}.csv"'})


async def _check_owner(req: RouteRequest) -> tuple[int | None, str | None]:
    """The task's owner: an agent may only give tasks to themselves; a supervisor to any
    agent of the tenant or a queue of it."""
    who = req.who
    user, queue = req.body.get("owner_user_id"), req.body.get("owner_queue")
    if user is not None and queue is not None:
        raise invalid({"owner_queue": "a task has one owner: an agent or a queue"})
    if who.role is Role.AGENT and (queue is not None or user not in (None, who.user_id)):
        raise WebError(403, "forbidden", "agents give tasks only to themselves",
                       {"owner_user_id": "must be yourself"})
    if queue is not None:
        names = {q.name for q in await acd_of(req).queues(who.tenant_id)}
        if queue not in names:
            raise invalid({"owner_queue": f"no queue {queue!r}"})
        return None, queue
    if user is not None and user != who.user_id:
        try:
            await acd_of(req).agent_status(who.tenant_id, user)
        except ServiceError:
            raise invalid({"owner_user_id": f"no agent {user}"}) from None
    return (user if user is not None else who.user_id), None


async def create_list_tasks(req: RouteRequest) -> web.StreamResponse:
    user, queue = await _check_owner(req)
    try:
        made = await leads_of(req).tasks.from_list(
            req.who.tenant_id, req.int_param("list_id", "lead list"), owner_user_id=user,
            owner_queue=queue, due_at=req.body.get("due_at") or utc_now(),
            priority=req.body.get("priority", 0), by=req.who.username)
    except LookupError:
        raise not_found("lead list") from None
    return reply({"created": made}, status=201)


async def get_tasks(req: RouteRequest) -> web.StreamResponse:
    q = req.query
    found = await leads_of(req).tasks.tasks(
        req.who.tenant_id, status=q["status"].value if q["status"] else None,
        owner_user_id=q["owner_user_id"], list_id=q["list_id"], limit=q["limit"])
    return reply({"tasks": [task_json(task) for task in found]})


async def create_task(req: RouteRequest) -> web.StreamResponse:
    leads = leads_of(req)
    rules = await leads.compliance.rules(req.who.tenant_id)
    number = e164(req.body["number"], rules.region)
    if number is None:
        raise invalid({"number": PHONE_HINT})
    user, queue = await _check_owner(req)
    task = await leads.tasks.create(
        req.who.tenant_id,
        TaskDraft(number=number, name=req.body.get("name"), due_at=req.body.get("due_at")
                  or utc_now(), owner_user_id=user, owner_queue=queue,
                  priority=req.body.get("priority", 0), notes=req.body.get("notes")),
        by=req.who.username, source="api")
    return reply({"task": task_json(task)}, status=201)


async def _my_queues(req: RouteRequest) -> tuple[str, ...]:
    try:
        return (await acd_of(req).agent_status(req.who.tenant_id, req.who.user_id)).member_of
    except (ServiceError, web.HTTPException, WebError):
        return ()


async def _task(req: RouteRequest) -> TaskView:
    """The task of the path, as this user may see it: a supervisor any of the tenant's, an
    agent theirs or their queues' (else 404, as another tenant's)."""
    task = await leads_of(req).tasks.get(req.who.tenant_id, req.int_param("task_id", "task"))
    if task is None:
        raise not_found("task")
    if req.who.role is Role.AGENT and task.owner_user_id != req.who.user_id and (
            task.owner_queue is None or task.owner_queue not in await _my_queues(req)):
        raise not_found("task")
    return task


async def get_task(req: RouteRequest) -> web.StreamResponse:
    return reply({"task": task_json(await _task(req))})


def _task_refused(exc: TaskRefused) -> WebError:
    if exc.code == "conflict":
        return conflict("task-finished", str(exc))
    return invalid({exc.field or "body": str(exc)})


async def call_task(req: RouteRequest) -> web.StreamResponse:
    """Click-to-call a task: compliance on the task (attempts, retry delay, then do-not-call
    and calling hours again when the trunk dials), then the agent's phone rings, then the
    number (outbound/agent_calls.py)."""
    task = await _task(req)
    leads = leads_of(req)
    try:
        start_call(TaskStatus(task.status))
    except TaskRefused as exc:
        raise _task_refused(exc) from None
    ruling = await leads.tasks.may_call(req.who.tenant_id, task, by=req.who.username,
                                        user_id=req.who.user_id)
    if not ruling.allowed:
        raise WebError(403, "refused", ruling.message, {"number": ruling.message},
                       {"reason": ruling.reason})
    call_id = await acd_of(req).dial(req.who.tenant_id, req.who.user_id, task.number,
                                     req.body.get("caller_id"))
    try:
        task = await leads.tasks.step(req.who.tenant_id, task.id,
                                      lambda t: _counted(start_call(TaskStatus(t.status)), t),
                                      call_id=call_id)
    except TaskRefused as exc:
        raise _task_refused(exc) from None
    return reply({"call_id": call_id, "task": task_json(task)}, status=201)


def _counted(change: Change, task: TaskView) -> Change:
    """A call placed for the task is an attempt (its outcome follows)."""
    return replace(change, attempts=task.attempts + 1, last_outcome="dialled")


async def finish_task(req: RouteRequest) -> web.StreamResponse:
    task = await _task(req)
    try:
        done = await leads_of(req).tasks.step(
            req.who.tenant_id, task.id, lambda t: finish(TaskStatus(t.status),
                                                         req.body.get("outcome")),
            notes=req.body.get("notes"))
    except TaskRefused as exc:
        raise _task_refused(exc) from None
    return reply({"task": task_json(done)})


async def task_unanswered(req: RouteRequest) -> web.StreamResponse:
    task = await _task(req)
    leads = leads_of(req)
    rules = await leads.compliance.rules(req.who.tenant_id)

    def decide(t: TaskView) -> Change:
        # A call placed through the task already counted its attempt.
        counted = t.attempts - 1 if t.status == TaskStatus.IN_PROGRESS else t.attempts
        return unanswered(TaskStatus(t.status), req.body["result"], attempts=max(counted, 0),
                          rules=rules, now=utc_now())

    try:
        changed = await leads.tasks.step(req.who.tenant_id, task.id, decide)
    except TaskRefused as exc:
        raise _task_refused(exc) from None
    return reply({"task": task_json(changed)})


async def cancel_task(req: RouteRequest) -> web.StreamResponse:
    task = await _task(req)
    try:
        changed = await leads_of(req).tasks.step(req.who.tenant_id, task.id,
                                                 lambda t: cancel(TaskStatus(t.status)))
    except TaskRefused as exc:
        raise _task_refused(exc) from None
    return reply({"task": task_json(changed)})


async def my_work(req: RouteRequest) -> web.StreamResponse:
    """The agent's "My work": every source's items (tasks, follow-ups, and what other features
    add), the earliest due first."""
    leads = leads_of(req)
    queues = await _my_queues(req)
    found = [await source(req.who.tenant_id, req.who.user_id, queues)
             for source in leads.work_sources]
    now = utc_now()
    return reply({"items": [{"kind": item.kind, "id": item.id, "number": item.number,
                             "name": item.name, "due_at": item.due_at,
                             "priority": item.priority, "status": item.status,
                             "due": item.due_at <= now, "detail": item.detail}
                            for item in merged(found)]})


# --- do-not-call -------------------------------------------------------------------------


def _entry_json(entry: Any) -> dict[str, Any]:
    return {"number": entry.number, "scope": entry.scope, "reason": entry.reason,
            "source": entry.source, "added_by": entry.added_by, "added_at": entry.added_at}


async def get_dnc(req: RouteRequest) -> web.StreamResponse:
    q = req.query
    entries, total = await leads_of(req).compliance.entries(
        req.who.tenant_id, number=q["number"], limit=q["limit"], offset=q["offset"])
    return reply({"entries": [_entry_json(e) for e in entries], "total": total})


async def add_dnc(req: RouteRequest) -> web.StreamResponse:
    leads = leads_of(req)
    region = (await leads.compliance.rules(req.who.tenant_id)).region
    numbers: list[str] = []
    problems: dict[str, str] = {}
    for index, raw in enumerate(req.body["numbers"]):
        number = e164(raw, region)
        if number is None:
            problems[f"numbers.{index}"] = PHONE_HINT
        else:
            numbers.append(number)
    if problems:
        raise invalid(problems)
    added, already = await leads.compliance.add(
        req.who.tenant_id, [(n, req.body.get("reason")) for n in numbers], source="api",
        by=req.who.username)
    return reply({"added": added, "already": already}, status=201)


async def import_dnc(req: RouteRequest) -> web.StreamResponse:
    leads = leads_of(req)
    region = (await leads.compliance.rules(req.who.tenant_id)).region
    column = req.body.get("column")
    try:
        report = await asyncio.to_thread(read_leads, req.body["csv"], region=region,
                                         mapping={"number": column} if column else {})
    except ImportRefused as exc:
        raise _refused(exc) from None
    added, already = await leads.compliance.add(
        req.who.tenant_id, [(d.number, req.body.get("reason")) for d in report.leads],
        source="import", by=req.who.username)
    return reply({"added": added, "already": already, "report": report.summary()},
                 status=201)


async def remove_dnc(req: RouteRequest) -> web.StreamResponse:
    leads = leads_of(req)
    number = e164(req.param("number"), (await leads.compliance.rules(req.who.tenant_id)).region)
    if number is None or not await leads.compliance.remove(req.who.tenant_id, number):
        raise not_found("number on the do-not-call list")
    return no_content()


# --- compliance settings, check, refusals ---------------------------------------------------


async def get_compliance(req: RouteRequest) -> web.StreamResponse:
    rules = await leads_of(req).compliance.rules(req.who.tenant_id)
    return reply({"settings": rules_json(rules)})


async def set_compliance(req: RouteRequest) -> web.StreamResponse:
    try:
        rules = checked_rules(req.body)
    except ComplianceInvalid as exc:
        raise invalid(exc.problems) from None
    await leads_of(req).compliance.set_rules(req.who.tenant_id, rules, by=req.who.username)
    return reply({"settings": rules_json(rules)})


async def check_compliance(req: RouteRequest) -> web.StreamResponse:
    """What compliance says of a number now (nothing is dialled, nothing journaled)."""
    leads = leads_of(req)
    number = e164(req.query["number"], (await leads.compliance.rules(req.who.tenant_id)).region)
    if number is None:
        raise invalid({"number": PHONE_HINT})
    ruling = await leads.compliance.check(req.who.tenant_id, number,
                                          purpose=req.query["purpose"])
    return reply({"number": number, "allowed": ruling.allowed, **ruling.journal()})


async def get_refusals(req: RouteRequest) -> web.StreamResponse:
    found = await leads_of(req).compliance.refusals(req.who.tenant_id,
                                                    limit=req.query["limit"],
                                                    before=req.query["before"])
    return reply({"refusals": [asdict(r) for r in found]})


# A body with a time (due_at) is read in Python mode (`dates`, which needs `defaults`): the
# handler gets an aware datetime, never its text.
LISTS, MORE = ModelBody(NewList), ModelBody(MoreLeads)
LIST_TASKS = ModelBody(ListTasks, defaults=True, dates=True)
ROUTES = [
    Route("GET", "/api/leads/lists", get_lead_lists, SUPERVISORS,
          "The tenant's lead lists, with their leads counted by status", tag="leads"),
    Route("POST", "/api/leads/lists", create_lead_list, SUPERVISORS,
          "A new lead list from a CSV file: column mapping, numbers normalised to E.164, "
          "invalid and duplicate rows reported by line, other columns kept as custom fields",
          body=LISTS, tag="leads"),
    Route("POST", "/api/leads/lists/{list_id}/import", import_leads, SUPERVISORS,
          "More leads for a list from a CSV file (numbers already there are duplicates)",
          body=MORE, tag="leads"),
    Route("GET", "/api/leads/lists/{list_id}/export", export_leads, SUPERVISORS,
          "A lead list as a CSV file, with each lead's status and attempts", tag="leads",
          produces=("text/csv",)),
    Route("POST", "/api/leads/lists/{list_id}/tasks", create_list_tasks, SUPERVISORS,
          "One call task per lead of the list not worked yet", body=LIST_TASKS, tag="leads"),
    Route("GET", "/api/tasks", get_tasks, SUPERVISORS, "The tenant's call tasks",
          query=ModelQuery(TaskQuery), tag="tasks"),
    Route("POST", "/api/tasks", create_task, ANYONE,
          "A call task (an agent's own; a supervisor's for any agent or queue)",
          body=ModelBody(NewTask, defaults=True, dates=True), tag="tasks"),
    Route("GET", "/api/tasks/{task_id}", get_task, ANYONE, "A call task", tag="tasks"),
    Route("POST", "/api/tasks/{task_id}/call", call_task, ANYONE,
          "Call the task's number from your phone (compliance first: refused with why)",
          body=ModelBody(TaskCall), tag="tasks"),
    Route("POST", "/api/tasks/{task_id}/done", finish_task, ANYONE,
          "Finish a task with its outcome (required)", body=ModelBody(TaskDone), tag="tasks"),
    Route("POST", "/api/tasks/{task_id}/unanswered", task_unanswered, ANYONE,
          "Nobody answered (busy, no-answer, machine): due again after the retry delay, or "
          "cancelled at the maximum attempts", body=ModelBody(TaskUnanswered), tag="tasks"),
    Route("POST", "/api/tasks/{task_id}/cancel", cancel_task, ANYONE, "Cancel a task",
          tag="tasks"),
    Route("GET", "/api/me/work", my_work, ANYONE,
          "My work: tasks due, follow-ups and other features' work, the earliest due first",
          tag="tasks"),
    Route("GET", "/api/dnc", get_dnc, SUPERVISORS, "The tenant's do-not-call list",
          query=ModelQuery(DncQuery), tag="compliance"),
    Route("POST", "/api/dnc", add_dnc, SUPERVISORS,
          "Put numbers on the tenant's do-not-call list", body=ModelBody(DncAdd),
          tag="compliance"),
    Route("POST", "/api/dnc/import", import_dnc, ADMIN,
          "Put a CSV file's numbers on the do-not-call list (bad rows reported by line)",
          body=ModelBody(DncImport), tag="compliance"),
    Route("DELETE", "/api/dnc/{number}", remove_dnc, ADMIN,
          "Take a number off the tenant's do-not-call list", tag="compliance"),
    Route("GET", "/api/compliance/settings", get_compliance, ADMIN,
          "The tenant's compliance settings: calling hours, attempts, retry delays",
          tag="compliance"),
    Route("PUT", "/api/compliance/settings", set_compliance, ADMIN,
          "Set the tenant's compliance settings", body=ModelBody(ComplianceFields,
                                                                 defaults=True),
          tag="compliance"),
    Route("GET", "/api/compliance/check", check_compliance, ADMIN,
          "Whether compliance lets a number be dialled now, and why",
          query=ModelQuery(CheckQuery), tag="compliance"),
    Route("GET", "/api/compliance/refusals", get_refusals, SUPERVISORS,
          "Refused dials, newest first: who, what number, which rule, why",
          query=ModelQuery(RefusalQuery), tag="compliance"),
]
