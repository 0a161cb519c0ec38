"""`pbx ticket ...`: a tenant's tickets and due-time targets from the command line.

    pbx ticket list [--status open] [--overdue] [--tenant default]
    pbx ticket targets [--low MIN --medium MIN --high MIN --urgent MIN] [--tenant default]

`targets` prints the minutes from opening to due time per priority; with values, sets those
given (the others keep theirs).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pbx_stasis.store import commands
from pbx_stasis.tickets.core import Priority, Status

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.tickets.service import Tickets


def _with_tickets(settings: Settings, tenant: str,
                  work: Callable[[Tickets, int], Awaitable[int]]) -> int:
    from pbx_stasis.bus import Bus
    from pbx_stasis.tickets.service import Tickets

    # A bus of its own: nobody listens in this process, so nothing is published.
    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(Tickets(db, Bus()), tenant_id))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.crm.timeline import Viewer
    from pbx_stasis.store.base import utc_now
    from pbx_stasis.store.tables import Role

    async def work(tickets: Tickets, tenant_id: int) -> int:
        now = utc_now()
        found = await tickets.search(
            tenant_id, Viewer(tenant_id, 0, Role.ADMIN), now,
            status=Status(args.status) if args.status else None, overdue=args.overdue,
            limit=args.limit)
        for ticket in found:
            late = " OVERDUE" if ticket.due_at < now and args.overdue else ""
            print(f"#{ticket.id}\t{ticket.status.value}\t{ticket.priority.value}\t"
                  f"{ticket.queue or '-'}\t{ticket.assignee_name or '-'}\t"
                  f"due {ticket.due_at:%Y-%m-%d %H:%M}{late}\t{ticket.subject}")
        return 0

    return _with_tickets(settings, args.tenant, work)


def cmd_targets(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store.base import utc_now

    async def work(tickets: Tickets, tenant_id: int) -> int:
        targets = await tickets.targets(tenant_id)
        given = {p: getattr(args, p.value) for p in Priority if getattr(args, p.value)}
        if given:
            targets = await tickets.set_targets(
                tenant_id, {p.value: given.get(p, targets[p]) for p in Priority}, utc_now())
        for priority in Priority:
            print(f"{priority.value}\t{targets[priority]} min")
        return 0

    return _with_tickets(settings, args.tenant, work)


def _minutes(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 525_600:
        raise argparse.ArgumentTypeError("must be 1 to 525600 minutes")
    return value


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ticket = sub.add_parser("ticket", help="a tenant's tickets and their due-time targets")
    actions = ticket.add_subparsers(dest="ticket_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print the tenant's tickets, soonest due first")
    listing.add_argument("--status", choices=[status.value for status in Status])
    listing.add_argument("--overdue", action="store_true", help="only those past their due time")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=cmd_list)
    targets = actions.add_parser("targets", help="print or set minutes to due time per priority")
    for priority in Priority:
        targets.add_argument(f"--{priority.value}", type=_minutes, metavar="MIN")
    targets.set_defaults(func=cmd_targets)
    for action in (listing, targets):
        commands.tenant_argument(action)
