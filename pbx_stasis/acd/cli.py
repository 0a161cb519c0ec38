"""`pbx queue`, `pbx agent` and `pbx export queue-log`: the ACD from a shell."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from pbx_stasis.store import accounts, commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

# The commands import the ACD's directory and the store (SQLAlchemy) when they run: `pbx` builds
# its parser from every feature's cli.py.


def _pairs(text: str, what: str) -> dict[str, int]:
    """"sales:1,support" -> {"sales": 1, "support": 0}."""
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, level = item.partition(":")
        if not level.isdigit() and level:
            raise SystemExit(f"error: {what} {item!r}: expected NAME or NAME:NUMBER")
        out[name] = int(level or 0)
    return out


def cmd_queue_set(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.acd.directory import AcdDirectory
    from pbx_stasis.acd.settings import SettingsInvalid, queue_settings

    try:
        given: dict[str, Any] = json.loads(args.settings) if args.settings else {}
    except json.JSONDecodeError as exc:
        print(f"error: --settings is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(given, dict):
        print("error: --settings must be a JSON object", file=sys.stderr)
        return 2
    if args.strategy:
        given["strategy"] = args.strategy

    async def work(db: Database) -> int:
        directory = AcdDirectory(db)
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        current = {c.name: c for _, c in await directory.queues(tenant_id)}
        base = queue_settings(current[args.name]) if args.name in current else {}
        try:
            config = await directory.save_queue(tenant_id, args.name, {**base, **given})
        except SettingsInvalid as exc:
            for name, message in exc.problems.items():
                print(f"error: {name}: {message}", file=sys.stderr)
            return 2
        print(f"queue {config.name}: {json.dumps(queue_settings(config))}")
        return 0

    return commands.with_database(settings.database.url, work)


def cmd_queue_list(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.acd.directory import AcdDirectory

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        for _, config in await AcdDirectory(db).queues(tenant_id):
            print(f"{config.name}\t{config.strategy}\tring {config.ring_timeout:g}s\t"
                  f"wrap-up {config.wrapup:g}s\tmax wait {config.max_wait or '-'}")
        return 0

    return commands.with_database(settings.database.url, work)


def cmd_agent_set(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.acd.directory import AcdDirectory
    from pbx_stasis.acd.settings import SettingsInvalid
    from pbx_stasis.store import Directory

    skills = _pairs(args.skills, "skill") if args.skills is not None else None
    queues = _pairs(args.queues, "queue") if args.queues is not None else None

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        user = await Directory(db).get_user(tenant_id, args.username)
        if user is None:
            print(f"error: no user {args.username!r} in tenant {args.tenant!r} "
                  "(pbx user add first)", file=sys.stderr)
            return 2
        directory = AcdDirectory(db)
        if queues:  # the rule of the admin pages (store/accounts.py)
            known = [config.name for _, config in await directory.queues(tenant_id)]
            try:
                accounts.queues(queues, known)
            except accounts.AccountInvalid as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        try:
            agent = await directory.save_agent(
                user.id,
                skills=skills,
                queues=queues,
                wrapup=args.wrapup,
                contact=args.contact,
            )
        except SettingsInvalid as exc:
            for name, message in exc.problems.items():
                print(f"error: {name}: {message}", file=sys.stderr)
            return 2
        print(f"agent {agent.username}: endpoint {agent.endpoint}, queues {dict(agent.queues)}, "
              f"skills {dict(agent.skills)} (a running app picks this up when restarted)")
        return 0

    return commands.with_database(settings.database.url, work)


def cmd_export_queue_log(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.acd.queue_log import queue_log_line
    from pbx_stasis.store import CallJournal, Directory

    lines: list[str] = []

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        names = {u.id: u.username for u in await Directory(db).list_users(tenant_id)}
        after = 0
        while rows := await CallJournal(db).events_after(after, limit=5000):
            for row in rows:
                after = row.id
                agent = names.get(row.agent_user_id or 0)
                line = queue_log_line(
                    row.event, row.at.timestamp(), row.call_id, row.queue,
                    f"Agent/{agent}" if agent else None, row.data, extensions=args.extensions)
                if line is not None:
                    lines.append(line)
        return 0

    status = commands.with_database(settings.database.url, work)
    if status != 0:  # no such tenant: no file, not even an empty one
        return status
    text = "".join(line + "\n" for line in lines)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    print(f"{len(lines)} queue_log lines written", file=sys.stderr)
    return 0


def add_commands(sub: Subparsers) -> None:
    queue = sub.add_parser("queue", help="ACD queues").add_subparsers(
        dest="queue_command", required=True, metavar="ACTION")
    qset = queue.add_parser("set", help="create or change a queue")
    qset.add_argument("name")
    qset.add_argument("--strategy", choices=["ringall", "longest-idle", "fewest-calls",
                                             "round-robin", "random", "linear"])
    qset.add_argument("--settings", help='more settings as JSON, e.g. \'{"wrapup": 10}\'')
    commands.tenant_argument(qset)
    qset.set_defaults(func=cmd_queue_set)
    qlist = queue.add_parser("list", help="list the queues")
    commands.tenant_argument(qlist)
    qlist.set_defaults(func=cmd_queue_list)

    agent = sub.add_parser("agent", help="agents").add_subparsers(
        dest="agent_command", required=True, metavar="ACTION")
    aset = agent.add_parser("set", help="make a user an agent or change them")
    aset.add_argument("username")
    aset.add_argument("--queues", help="queues with penalties: support:0,sales:1")
    aset.add_argument("--skills", help="skills with levels: english:5,french:2")
    aset.add_argument("--wrapup", type=float, help="wrap-up seconds (overrides the queue's)")
    aset.add_argument("--contact", help="sip:user@host:port of a desk phone that does not "
                                        "register (default: a WebRTC softphone)")
    commands.tenant_argument(aset)
    aset.set_defaults(func=cmd_agent_set)

    export = sub.add_parser("export", help="export data").add_subparsers(
        dest="export_command", required=True, metavar="WHAT")
    qlog = export.add_parser("queue-log", help="the journal in Asterisk's queue_log format")
    qlog.add_argument("-o", "--output", help="file to write (default: stdout)")
    qlog.add_argument("--extensions", action="store_true",
                      help="also rows app_queue never writes (OFFER, HOLD, WRAPUP...)")
    commands.tenant_argument(qlog)
    qlog.set_defaults(func=cmd_export_queue_log)
