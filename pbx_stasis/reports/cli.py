"""`pbx reports rollup`: the reports' quarter-hour rollups (reports/rollup_store.py).

    pbx reports rollup [--tenant default]            # roll the quarters not rolled yet
    pbx reports rollup --rebuild [--tenant default]  # forget them and roll them all again

`pbx run` rolls new quarters every minute by itself; `--rebuild` after a queue's service level
settings changed (reports fold that queue's past from the journal until then) or to fill the
rollups of a journal older than them. Prints the quarters written.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database


def cmd_rollup(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.reports.rollup_store import SETTLE_S, queue_rules, rebuild, roll_up

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        through = time.time() - SETTLE_S
        began = time.monotonic()
        if args.rebuild:
            written = await rebuild(db, tenant_id, through)
        else:
            written = await roll_up(db, tenant_id, await queue_rules(db, tenant_id), through)
        print(f"{written} quarter-hour rollups written in {time.monotonic() - began:.1f} s")
        return 0

    return commands.with_database(settings.database.url, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reports = sub.add_parser("reports", help="the reports' quarter-hour rollups")
    actions = reports.add_subparsers(dest="reports_command", required=True, metavar="ACTION")
    rollup = actions.add_parser("rollup", help="roll the journal into quarter-hour figures")
    rollup.add_argument("--rebuild", action="store_true",
                        help="forget the tenant's rollups and roll the whole journal again")
    commands.tenant_argument(rollup)
    rollup.set_defaults(func=cmd_rollup)
