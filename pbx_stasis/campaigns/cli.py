"""`pbx campaign`: list, add, set, start, pause, stop, report and export a tenant's campaigns.

    pbx campaign add spring --list 3 --queue sales --mode predictive --set abandon_target=0.02
    pbx campaign start 1
    pbx campaign report 1            # figures: dialled, connected, abandoned %, machines...
    pbx campaign export 1 -o a.csv   # its attempts
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.campaigns.service import Campaigns
    from pbx_stasis.config import Settings
    from pbx_stasis.store import Database


def _run(settings: Settings, tenant: str,
         work: Callable[[Campaigns, Database, int], Awaitable[int]]) -> int:
    from pbx_stasis.campaigns.service import Campaigns

    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(Campaigns(db), db, tenant_id))


def _refused(problems: dict[str, str]) -> int:
    for field, message in problems.items():
        print(f"error: {field}: {message}", file=sys.stderr)
    return 2


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    for key in ("name", "queue", "mode"):
        if getattr(args, key, None) is not None:
            fields[key] = getattr(args, key)
    if getattr(args, "list", None) is not None:
        fields["list_id"] = args.list
    return fields


async def _checked(db: Database, tenant_id: int, body: dict[str, Any]) -> Any:
    """The settings, or the problems by field (as the API names them)."""
    from pydantic import ValidationError

    from pbx_stasis.acd.directory import AcdDirectory
    from pbx_stasis.campaigns.core import CampaignSettings
    from pbx_stasis.validation import field_errors

    try:
        settings = CampaignSettings.model_validate(body)
    except ValidationError as exc:
        return field_errors(exc)
    queues = {config.name for tid, config in await AcdDirectory(db).queues() if tid == tenant_id}
    if settings.queue not in queues:
        return {"queue": "no such queue"}
    return settings


def _show(campaign: Any) -> None:
    s = campaign.settings
    print(f"{campaign.id}\t{campaign.name}\t{campaign.state.value}\t{s.mode.value}\t"
          f"list {s.list_id}\tqueue {s.queue}\ttarget {s.abandon_target:.1%}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        for campaign in await store.campaigns(tenant_id):
            _show(campaign)
        return 0

    return _run(settings, args.tenant, work)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.campaigns.core import CampaignSettings
    from pbx_stasis.store.errors import AlreadyExists

    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        checked = await _checked(db, tenant_id, _fields(args))
        if not isinstance(checked, CampaignSettings):
            return _refused(checked)
        try:
            made = await store.create(tenant_id, checked, by="cli")
        except LookupError:
            return _refused({"list_id": "no such lead list"})
        except AlreadyExists as exc:
            return _refused({"name": str(exc)})
        _show(made)
        return 0

    return _run(settings, args.tenant, work)


def cmd_set(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.campaigns.core import CampaignSettings
    from pbx_stasis.campaigns.service import CampaignRefused
    from pbx_stasis.store.errors import AlreadyExists

    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        found = await store.get(tenant_id, args.id)
        if found is None:
            return _refused({"id": f"no campaign {args.id}"})
        body = {**found.settings.model_dump(mode="json"), **_fields(args)}
        checked = await _checked(db, tenant_id, body)
        if not isinstance(checked, CampaignSettings):
            return _refused(checked)
        try:
            changed = await store.update(tenant_id, args.id, checked)
        except LookupError:
            return _refused({"list_id": "no such lead list"})
        except (AlreadyExists, CampaignRefused) as exc:
            return _refused({"campaign": str(exc)})
        assert changed is not None
        _show(changed)
        return 0

    return _run(settings, args.tenant, work)


def cmd_command(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.campaigns.service import CampaignRefused

    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        try:
            moved = await store.command(tenant_id, args.id, args.campaign_command)
        except CampaignRefused as exc:
            return _refused({"state": str(exc)})
        if moved is None:
            return _refused({"id": f"no campaign {args.id}"})
        _show(moved)
        return 0

    return _run(settings, args.tenant, work)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        found = await store.get(tenant_id, args.id)
        if found is None:
            return _refused({"id": f"no campaign {args.id}"})
        figures = (await store.figures(tenant_id, args.id)).json()
        for key, value in figures.items():
            print(f"{key}\t{value}")
        print(f"leads_left\t{await store.leads_left(found)}")
        return 0

    return _run(settings, args.tenant, work)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.campaigns.service import CSV_COLUMNS
    from pbx_stasis.web.csvfile import csv_text

    rows: list[dict[str, Any]] = []

    async def work(store: Campaigns, db: Database, tenant_id: int) -> int:
        if await store.get(tenant_id, args.id) is None:
            return _refused({"id": f"no campaign {args.id}"})
        rows.extend(a.json() for a in await store.attempts(tenant_id, args.id))
        return 0

    code = _run(settings, args.tenant, work)
    if code == 0:
        text = csv_text(CSV_COLUMNS, rows)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    return code


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = sub.add_parser("campaign", help="campaigns: preview, progressive, predictive")
    actions = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the tenant's campaigns")
    listing.set_defaults(func=cmd_list)
    add = actions.add_parser("add", help="a new campaign (draft)")
    add.add_argument("name")
    add.add_argument("--list", type=int, required=True, help="the lead list's id")
    add.add_argument("--queue", required=True, help="the queue whose agents take its calls")
    add.add_argument("--mode", choices=["preview", "progressive", "predictive"])
    add.set_defaults(func=cmd_add)
    change = actions.add_parser("set", help="change a campaign's settings")
    change.add_argument("id", type=int)
    change.add_argument("--name")
    change.add_argument("--list", type=int)
    change.add_argument("--queue")
    change.add_argument("--mode", choices=["preview", "progressive", "predictive"])
    change.set_defaults(func=cmd_set)
    for action in (add, change):
        action.add_argument("--set", action="append", metavar="FIELD=VALUE",
                            help="any setting, e.g. abandon_target=0.02 amd=false "
                                 "machine_action=reschedule retry_busy=10 (docs/dialing.md)")
    moves = []
    for what, helping in (("start", "start or resume dialling"),
                          ("pause", "no new calls; those under way finish"),
                          ("stop", "stop for good")):
        move = actions.add_parser(what, help=helping)
        move.add_argument("id", type=int)
        move.set_defaults(func=cmd_command)
        moves.append(move)
    rep = actions.add_parser("report", help="a campaign's figures")
    rep.add_argument("id", type=int)
    rep.set_defaults(func=cmd_report)
    exp = actions.add_parser("export", help="a campaign's attempts as CSV")
    exp.add_argument("id", type=int)
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    exp.set_defaults(func=cmd_export)
    for action in (listing, add, change, *moves, rep, exp):
        commands.tenant_argument(action)
