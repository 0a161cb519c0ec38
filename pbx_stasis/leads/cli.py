"""`pbx leads|tasks|dnc ...`: outbound work from the command line.

    pbx leads list [--tenant default]
    pbx leads import FILE (--name NAME | --list ID) [--map number=Phone,name=Name,time_zone=TZ]
                     [--region US] [--tenant default]
    pbx leads export ID [-o FILE] [--tenant default]
    pbx tasks list [--status open] [--limit 100] [--tenant default]
    pbx tasks add NUMBER (--owner USERNAME | --queue NAME) [--name N] [--due ISO] [--priority P]
    pbx tasks from-list ID (--owner USERNAME | --queue NAME) [--priority P]
    pbx tasks done ID --outcome TEXT [--notes TEXT]
    pbx tasks cancel ID
    pbx dnc list [--global] [--tenant default]
    pbx dnc add NUMBER... [--reason TEXT] [--global] [--tenant default]
    pbx dnc import FILE [--column NAME] [--reason TEXT] [--global] [--tenant default]

The command line reads files of any size up to 200,000 rows (the API: 20,000); `--global`
lists are the operator's (checked for every tenant), which only the command line changes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.leads.service import Leads
    from pbx_stasis.store import Database

CLI_MAX_ROWS = 200_000
CLI_MAX_CHARS = 50_000_000


def _run(settings: Settings, tenant: str,
         work: Callable[[Leads, Database, int], Awaitable[int]]) -> int:
    from pbx_stasis.leads.service import Leads

    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(Leads.over(db, settings.crm.region), db,
                                                          tenant_id))


def _read(path: str) -> str | None:
    try:
        if Path(path).stat().st_size > CLI_MAX_CHARS * 4:
            print(f"error: {path}: larger than {CLI_MAX_CHARS:,} characters", file=sys.stderr)
            return None
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return None


def _print_report(summary: dict[str, object]) -> None:
    print(f"  rows {summary['rows']}, imported {summary['imported']}, invalid "
          f"{summary['invalid']}, duplicates {summary['duplicates']}")
    problems = summary["problems"]
    assert isinstance(problems, list)
    for problem in problems:
        print(f"  line {problem['line']}: {problem['column']}: {problem['message']}")


def _refused(problems: dict[str, str]) -> int:
    for field, message in problems.items():
        print(f"error: {field}: {message}", file=sys.stderr)
    return 2


def cmd_leads_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        for item in await leads.lists.lists(tenant_id):
            counts = ", ".join(f"{k} {v}" for k, v in item.counts.items())
            print(f"{item.id}\t{item.name}\t{item.total} leads ({counts})")
        return 0

    return _run(settings, args.tenant, work)


def cmd_leads_import(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.leads.importing import ImportRefused
    from pbx_stasis.store.errors import AlreadyExists

    text = _read(args.file)
    if text is None:
        return 1
    mapping = dict(item.split("=", 1) for item in (args.map or "").split(",") if "=" in item)

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        region = args.region or (await leads.compliance.rules(tenant_id)).region
        try:
            view, report = await leads.lists.import_csv(
                tenant_id, text, by="cli", region=region.upper(), name=args.name,
                list_id=args.list, mapping=mapping, max_rows=CLI_MAX_ROWS,
                max_chars=CLI_MAX_CHARS)
        except ImportRefused as exc:
            return _refused(exc.problems)
        except AlreadyExists as exc:
            return _refused({"name": str(exc)})
        except LookupError:
            return _refused({"list": f"no lead list {args.list}"})
        print(f"list {view.id} {view.name}: {view.total} leads")
        _print_report(report.summary())
        return 0

    return _run(settings, args.tenant, work)


def cmd_leads_export(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.web.csvfile import csv_text

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        try:
            columns, rows = await leads.lists.export(tenant_id, args.id)
        except LookupError:
            return _refused({"id": f"no lead list {args.id}"})
        text = csv_text(columns, rows)
        if args.output:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    return _run(settings, args.tenant, work)


async def _owner(db: Database, tenant_id: int, username: str | None
                 ) -> tuple[int | None, str | None]:
    from pbx_stasis.store import Directory

    if username is None:
        return None, None
    user = await Directory(db).get_user(tenant_id, username)
    if user is None:
        return None, f"no user {username!r}"
    return user.id, None


def cmd_tasks_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        for task in await leads.tasks.tasks(tenant_id, status=args.status, limit=args.limit):
            owner = task.owner_queue or f"user {task.owner_user_id}"
            print(f"{task.id}\t{task.status}\t{task.due_at:%Y-%m-%d %H:%M}\t{task.number}\t"
                  f"{task.name or '-'}\t{owner}\tattempts {task.attempts}\t"
                  f"{task.outcome or ''}")
        return 0

    return _run(settings, args.tenant, work)


def cmd_tasks_add(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from pbx_stasis.leads.importing import e164
    from pbx_stasis.leads.service import TaskDraft
    from pbx_stasis.store.base import utc_now

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        number = e164(args.number, (await leads.compliance.rules(tenant_id)).region)
        if number is None:
            return _refused({"number": f"{args.number!r} is not a valid phone number"})
        user_id, problem = await _owner(db, tenant_id, args.owner)
        if problem:
            return _refused({"owner": problem})
        try:
            due = datetime.fromisoformat(args.due) if args.due else utc_now()
        except ValueError:
            return _refused({"due": "must be a date and time, e.g. 2026-12-02T09:00+00:00"})
        if due.tzinfo is None:
            return _refused({"due": "must carry its time zone, e.g. 2026-12-02T09:00+00:00"})
        task = await leads.tasks.create(tenant_id, TaskDraft(
            number=number, name=args.name, due_at=due, owner_user_id=user_id,
            owner_queue=args.queue, priority=args.priority), by="cli", source="hand")
        print(f"task {task.id}: call {task.number} by {task.due_at:%Y-%m-%d %H:%M} UTC")
        return 0

    return _run(settings, args.tenant, work)


def cmd_tasks_from_list(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store.base import utc_now

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        user_id, problem = await _owner(db, tenant_id, args.owner)
        if problem:
            return _refused({"owner": problem})
        try:
            made = await leads.tasks.from_list(tenant_id, args.id, owner_user_id=user_id,
                                               owner_queue=args.queue, due_at=utc_now(),
                                               priority=args.priority, by="cli")
        except LookupError:
            return _refused({"id": f"no lead list {args.id}"})
        print(f"{made} task(s) made from list {args.id}")
        return 0

    return _run(settings, args.tenant, work)


def _step(args: argparse.Namespace, settings: Settings, done: bool) -> int:
    from pbx_stasis.leads.work import TaskRefused, TaskStatus, cancel, finish

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        try:
            task = await leads.tasks.step(
                tenant_id, args.id,
                (lambda t: finish(TaskStatus(t.status), args.outcome)) if done
                else (lambda t: cancel(TaskStatus(t.status))),
                notes=getattr(args, "notes", None))
        except LookupError:
            return _refused({"id": f"no task {args.id}"})
        except TaskRefused as exc:
            return _refused({exc.field or "task": str(exc)})
        print(f"task {task.id}: {task.status} ({task.outcome})")
        return 0

    return _run(settings, args.tenant, work)


def cmd_tasks_done(args: argparse.Namespace, settings: Settings) -> int:
    return _step(args, settings, True)


def cmd_tasks_cancel(args: argparse.Namespace, settings: Settings) -> int:
    return _step(args, settings, False)


def cmd_dnc_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        entries, total = await leads.compliance.entries(None if args.global_ else tenant_id,
                                                        limit=500)
        for entry in entries:
            print(f"{entry.number}\t{entry.scope}\t{entry.source}\t{entry.reason or ''}")
        print(f"{total} number(s)")
        return 0

    return _run(settings, args.tenant, work)


def cmd_dnc_add(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.leads.importing import e164

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        region = (await leads.compliance.rules(tenant_id)).region
        numbers = [(raw, e164(raw, region)) for raw in args.numbers]
        bad = [raw for raw, number in numbers if number is None]
        if bad:
            return _refused({"number": f"{bad[0]!r} is not a valid phone number"})
        added, already = await leads.compliance.add(
            None if args.global_ else tenant_id,
            [(number, args.reason) for _, number in numbers if number], source="cli",
            by="cli")
        print(f"added {added}, already listed {already}")
        return 0

    return _run(settings, args.tenant, work)


def cmd_dnc_import(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.leads.importing import ImportRefused, read_leads

    text = _read(args.file)
    if text is None:
        return 1

    async def work(leads: Leads, db: Database, tenant_id: int) -> int:
        region = (await leads.compliance.rules(tenant_id)).region
        try:
            report = await asyncio.to_thread(
                read_leads, text, region=region,
                mapping={"number": args.column} if args.column else {},
                max_rows=CLI_MAX_ROWS, max_chars=CLI_MAX_CHARS)
        except ImportRefused as exc:
            return _refused(exc.problems)
        added, already = await leads.compliance.add(
            None if args.global_ else tenant_id,
            [(d.number, args.reason) for d in report.leads], source="import", by="cli")
        print(f"added {added}, already listed {already}")
        _print_report(report.summary())
        return 0

    return _run(settings, args.tenant, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    leads = sub.add_parser("leads", help="lead lists: import, export, list")
    actions = leads.add_subparsers(dest="leads_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the tenant's lead lists with counts by status")
    listing.set_defaults(func=cmd_leads_list)
    imp = actions.add_parser("import", help="import a CSV file into a new or existing list")
    imp.add_argument("file")
    target = imp.add_mutually_exclusive_group(required=True)
    target.add_argument("--name", help="a new list's name")
    target.add_argument("--list", type=int, help="an existing list's id")
    imp.add_argument("--map", help="field=column pairs, e.g. number=Phone,name=Customer")
    imp.add_argument("--region", help="how national numbers are read (default: the tenant's)")
    imp.set_defaults(func=cmd_leads_import)
    exp = actions.add_parser("export", help="a list as CSV (status and attempts included)")
    exp.add_argument("id", type=int)
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    exp.set_defaults(func=cmd_leads_export)
    for action in (listing, imp, exp):
        commands.tenant_argument(action)

    tasks = sub.add_parser("tasks", help="call tasks")
    t_actions = tasks.add_subparsers(dest="tasks_command", required=True, metavar="ACTION")
    t_list = t_actions.add_parser("list", help="the tenant's tasks, earliest due first")
    t_list.add_argument("--status", choices=["open", "in_progress", "done", "cancelled"])
    t_list.add_argument("--limit", type=int, default=100)
    t_list.set_defaults(func=cmd_tasks_list)
    t_add = t_actions.add_parser("add", help="a task: call this number")
    t_add.add_argument("number")
    t_add.add_argument("--name")
    t_add.add_argument("--due", help="when, ISO 8601 with its zone (default: now)")
    t_from = t_actions.add_parser("from-list", help="one task per lead of a list not worked yet")
    t_from.add_argument("id", type=int)
    for action in (t_add, t_from):
        owner = action.add_mutually_exclusive_group(required=True)
        owner.add_argument("--owner", help="the agent's username")
        owner.add_argument("--queue", help="a queue's name")
        action.add_argument("--priority", type=int, default=0)
    t_add.set_defaults(func=cmd_tasks_add)
    t_from.set_defaults(func=cmd_tasks_from_list)
    t_done = t_actions.add_parser("done", help="finish a task with its outcome")
    t_done.add_argument("id", type=int)
    t_done.add_argument("--outcome", required=True, help="what came of the call")
    t_done.add_argument("--notes")
    t_done.set_defaults(func=cmd_tasks_done)
    t_cancel = t_actions.add_parser("cancel", help="cancel a task")
    t_cancel.add_argument("id", type=int)
    t_cancel.set_defaults(func=cmd_tasks_cancel)
    for action in (t_list, t_add, t_from, t_done, t_cancel):
        commands.tenant_argument(action)

    dnc = sub.add_parser("dnc", help="do-not-call lists")
    d_actions = dnc.add_subparsers(dest="dnc_command", required=True, metavar="ACTION")
    d_list = d_actions.add_parser("list", help="the numbers on the list (first 500)")
    d_list.set_defaults(func=cmd_dnc_list)
    d_add = d_actions.add_parser("add", help="put numbers on the list")
    d_add.add_argument("numbers", nargs="+")
    d_add.set_defaults(func=cmd_dnc_add)
    d_import = d_actions.add_parser("import", help="put a CSV file's numbers on the list")
    d_import.add_argument("file")
    d_import.add_argument("--column", help="the column of numbers (default: phone/number)")
    d_import.set_defaults(func=cmd_dnc_import)
    for action in (d_add, d_import):
        action.add_argument("--reason")
    for action in (d_list, d_add, d_import):
        action.add_argument("--global", dest="global_", action="store_true",
                            help="the operator's list, checked for every tenant")
        commands.tenant_argument(action)
