"""`pbx recordings ...`: retention sweep, queue policies and tenant rules from the command line.

    pbx recordings purge [--now ISO]              delete what the tenants' retention expired
    pbx recordings policy QUEUE MODE [--percent P] [--tenant default]
    pbx recordings rules [--retention-days N | --keep-forever] [--agents-hear-own yes|no]
                         [--tenant default]

`add_commands(subparsers)` adds them to the `pbx` parser; each sets
`func(args, settings)`. `python -m pbx_stasis.recording ...` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pbx_stasis.recording.kinds import PolicyMode
from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.recording.retention import purge_expired

    async def work(db: Database) -> int:
        report = await purge_expired(db, args.now, settings.recordings.dir)
        print(report)
        return 0

    return commands.with_database(settings.database.url, work)


def cmd_policy(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.recording.policy import RecordingPolicy
    from pbx_stasis.recording.policy_store import RecordingPolicies

    try:
        policy = RecordingPolicy(PolicyMode(args.mode), args.percent)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        await RecordingPolicies(db).set_policy(tenant_id, args.queue, policy)
        print(f"queue {args.queue}: recording {policy.mode.value}"
              + (f" ({policy.sample_percent:g}%)" if policy.mode is PolicyMode.SAMPLE else ""))
        return 0

    return commands.with_database(settings.database.url, work)


def cmd_rules(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.recording.policy import RecordingRules
    from pbx_stasis.recording.policy_store import RecordingPolicies

    async def work(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, args.tenant)
        if tenant_id is None:
            return 1
        policies = RecordingPolicies(db)
        rules = await policies.rules(tenant_id)
        days = None if args.keep_forever else (args.retention_days or rules.retention_days)
        hear = rules.agents_hear_own if args.agents_hear_own is None else (
            args.agents_hear_own == "yes")
        try:
            rules = RecordingRules(days, hear)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        await policies.set_rules(tenant_id, rules)
        kept = "forever" if rules.retention_days is None else f"{rules.retention_days} days"
        print(f"tenant {args.tenant}: recordings kept {kept}; agents hear their own: "
              f"{'yes' if rules.agents_hear_own else 'no'}")
        return 0

    return commands.with_database(settings.database.url, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recordings = sub.add_parser("recordings", help="call recordings: retention, policies")
    actions = recordings.add_subparsers(dest="recordings_command", required=True,
                                        metavar="ACTION")
    purge = actions.add_parser("purge", help="delete recordings past their tenant's retention")
    purge.add_argument("--now", type=_instant, default=None,
                       help="pretend it is this instant (ISO 8601, default: now)")
    purge.set_defaults(func=cmd_purge)

    policy = actions.add_parser("policy", help="set a queue's recording policy")
    policy.add_argument("queue")
    policy.add_argument("mode", choices=[mode.value for mode in PolicyMode])
    policy.add_argument("--percent", type=float, default=0.0, help="for sample: 0-100")
    commands.tenant_argument(policy)
    policy.set_defaults(func=cmd_policy)

    rules = actions.add_parser("rules", help="set a tenant's retention and agents' access")
    days = rules.add_mutually_exclusive_group()
    days.add_argument("--retention-days", type=int, help="delete recordings after N days")
    days.add_argument("--keep-forever", action="store_true", help="never delete recordings")
    rules.add_argument("--agents-hear-own", choices=["yes", "no"],
                       help="agents may play their own calls' recordings")
    commands.tenant_argument(rules)
    rules.set_defaults(func=cmd_rules)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pbx_stasis.recording ACTION ...` (same as `pbx recordings ACTION ...`)."""
    from pbx_stasis.config import ConfigError, load_settings

    parser = argparse.ArgumentParser(prog="python -m pbx_stasis.recording")
    parser.add_argument("--config", help="path to pbx.toml (default: ./pbx.toml or $PBX_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub)
    args = parser.parse_args(["recordings", *(argv if argv is not None else sys.argv[1:])])
    try:
        settings = load_settings(Path(args.config) if args.config else None)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    result: int = args.func(args, settings)
    return result
