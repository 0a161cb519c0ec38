"""`pbx script ...`: a tenant's call scripts from the command line.

    pbx script list [--tenant default]
    pbx script versions NAME [--tenant default]
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database


def cmd_scripts(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.callscripts.service import CallScripts

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        scripts = CallScripts(db)
        if args.script_command == "list":
            found = await scripts.current(tenant_id, with_retired=True)
        else:
            found = await scripts.versions(tenant_id, args.name)
            if not found:
                print(f"error: no script {args.name!r}", file=sys.stderr)
                return 1
        for item in found:
            applies = ", ".join([*item.body.queues, *item.body.ivr_nodes]) or "every call"
            state = " (retired)" if item.retired else ""
            print(f"{item.name}\tv{item.version}{state}\t{item.body.headline}\t{applies}\t"
                  f"{item.saved_at:%Y-%m-%d %H:%M} {item.saved_by or ''}")
        return 0

    return commands.with_database(settings.database.url, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    script = sub.add_parser("script", help="a tenant's call scripts and their versions")
    actions = script.add_subparsers(dest="script_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest version of each script")
    versions = actions.add_parser("versions", help="every version of a script, newest first")
    versions.add_argument("name")
    for action in (listing, versions):
        commands.tenant_argument(action)
        action.set_defaults(func=cmd_scripts)
