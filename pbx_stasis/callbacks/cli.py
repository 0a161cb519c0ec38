"""`pbx callbacks ...`: a tenant's callbacks from the command line.

    pbx callbacks list [--all] [--queue sales] [--tenant default]
    pbx callbacks add +14155550123 --queue sales [--at 2026-12-02T15:30+01:00] [--contact Bo]
    pbx callbacks cancel CALLBACK_ID [--tenant default]

`add` judges the number by the tenant's dialling policy (a refusal: exit 3, journaled) and
queues the callback at its time (now by default) for the running app to dial.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.callbacks.store import Callback, CallbackStore
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database


def _with_store(settings: Settings, tenant: str,
                work: Callable[[CallbackStore, Database, int], Awaitable[int]]) -> int:
    from pbx_stasis.callbacks.store import CallbackStore

    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(CallbackStore(db), db, tenant_id))


def _line(callback: Callback) -> str:
    when = callback.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    tried = f", {callback.attempts} attempt(s)" if callback.attempts else ""
    last = f", last {callback.last_result}" if callback.last_result else ""
    who = f" ({callback.contact})" if callback.contact else ""
    return (f"{callback.id}  {callback.status:<10} {callback.queue:<16} {callback.number}{who}"
            f"  from {when}{tried}{last}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: CallbackStore, db: Database, tenant_id: int) -> int:
        items = await store.listed(tenant_id, queues=[args.queue] if args.queue else None,
                                   pending=not args.all)
        for item in items:
            print(_line(item))
        if not items:
            print("no callbacks")
        return 0

    return _with_store(settings, args.tenant, work)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.acd.directory import AcdDirectory
    from pbx_stasis.callbacks.tables import CallbackSource
    from pbx_stasis.dialing.policy_store import DialPolicies

    async def work(store: CallbackStore, db: Database, tenant_id: int) -> int:
        now = datetime.now(UTC)
        due = now
        if args.at:
            try:
                due = datetime.fromisoformat(args.at)
            except ValueError:
                print(f"error: --at: {args.at!r} is not a date and time (ISO 8601)",
                      file=sys.stderr)
                return 2
            if due.tzinfo is None:
                print("error: --at: needs its UTC offset (e.g. +01:00 or Z)", file=sys.stderr)
                return 2
            due = max(due.astimezone(UTC), now)
        if args.queue not in {c.name for _, c in await AcdDirectory(db).queues(tenant_id)}:
            print(f"error: --queue: no queue {args.queue!r}", file=sys.stderr)
            return 2
        policies = DialPolicies(db, settings.crm.region)
        verdict = await policies.judge(tenant_id, args.number, role=None)
        if not verdict.allowed or verdict.number is None:
            policies.journal_refusal(tenant_id, args.number, verdict, by="cli")
            print(f"refused: {verdict.message}", file=sys.stderr)
            return 3
        callback = await store.create(tenant_id=tenant_id, queue=args.queue,
                                      number=verdict.number, contact=args.contact or "",
                                      source=CallbackSource.API, due_at=due)
        print(_line(callback))
        return 0

    return _with_store(settings, args.tenant, work)


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.callbacks.tables import CallbackStatus

    async def work(store: CallbackStore, db: Database, tenant_id: int) -> int:
        cancelled = await store.cancel(tenant_id, args.callback_id)
        if cancelled is None:
            print(f"error: no callback {args.callback_id!r}", file=sys.stderr)
            return 1
        print(_line(cancelled))
        if cancelled.status not in (CallbackStatus.CANCELLED, CallbackStatus.CANCELLING):
            print("error: too late to cancel it", file=sys.stderr)
            return 3
        return 0

    return _with_store(settings, args.tenant, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    callbacks = sub.add_parser("callbacks", help="callbacks waiting, asked for, cancelled")
    actions = callbacks.add_subparsers(dest="callbacks_command", required=True,
                                       metavar="ACTION")
    listing = actions.add_parser("list", help="callbacks waiting or under way")
    listing.add_argument("--all", action="store_true", help="finished ones too")
    listing.add_argument("--queue", help="only this queue's")
    listing.set_defaults(func=cmd_list)
    add = actions.add_parser("add", help="ask for a callback (the number judged by the "
                                         "dialling policy; exit 3: refused)")
    add.add_argument("number", help="the number to call back, e.g. +14155550123")
    add.add_argument("--queue", required=True, help="the queue whose agents call back")
    add.add_argument("--at", help="when it joins the queue, ISO 8601 with its offset "
                                  "(default: now)")
    add.add_argument("--contact", help="a name to show the agent")
    add.set_defaults(func=cmd_add)
    cancel = actions.add_parser("cancel", help="cancel one not dialled yet (exit 3: too late)")
    cancel.add_argument("callback_id")
    cancel.set_defaults(func=cmd_cancel)
    for action in (listing, add, cancel):
        commands.tenant_argument(action)
