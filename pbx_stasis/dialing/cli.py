"""`pbx dialing ...`: a tenant's dialling policy from the command line.

    pbx dialing show [--tenant default]
    pbx dialing set [--countries US,CA] [--allow +1900555,...] [--block +1876,...]
                    [--roles agent,supervisor] [--tenant default]
    pbx dialing check NUMBER [--role agent] [--tenant default]
    pbx dialing numbers [--tenant default]
    pbx dialing numbers add +14155550100 [--label Sales] [--default] [--tenant default]
    pbx dialing numbers remove +14155550100 [--tenant default]

`set` changes the lists it is given and keeps the others; an empty list (`--allow ''`) clears.
`numbers` lists the tenant's outbound numbers (the caller IDs its outside calls may present);
`add` adds one or changes its label (`--default` makes it the default), `remove` removes one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pbx_stasis.store import commands
from pbx_stasis.store.kinds import Role

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.dialing.caller_id_store import CallerIdStore
    from pbx_stasis.dialing.caller_ids import CallerIds
    from pbx_stasis.dialing.policy_store import DialPolicies


def _with_policies(settings: Settings, tenant: str,
                   work: Callable[[DialPolicies, int], Awaitable[int]]) -> int:
    from pbx_stasis.dialing.policy_store import DialPolicies

    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(DialPolicies(db, settings.crm.region),
                                                          tenant_id))


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _show(tenant: str, policy_view: dict[str, list[str]]) -> None:
    print(f"tenant {tenant}: dialling policy")
    for name in ("countries", "allow", "block", "roles"):
        print(f"  {name}: {', '.join(policy_view[name]) or '-'}")


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.dialing.policy_store import policy_json

    async def work(policies: DialPolicies, tenant_id: int) -> int:
        _show(args.tenant, policy_json(await policies.policy(tenant_id)))
        return 0

    return _with_policies(settings, args.tenant, work)


def cmd_set(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.dialing.policy import PolicyInvalid, checked_policy
    from pbx_stasis.dialing.policy_store import policy_json

    async def work(policies: DialPolicies, tenant_id: int) -> int:
        current = policy_json(await policies.policy(tenant_id))
        given = {name: _listed(value) for name, value in
                 (("countries", args.countries), ("allow", args.allow),
                  ("block", args.block), ("roles", args.roles)) if value is not None}
        try:  # the API's schema and rules (dialing/policy.py)
            policy = checked_policy({**current, **given})
        except PolicyInvalid as exc:
            for field, message in exc.problems.items():
                print(f"error: --{field}: {message}", file=sys.stderr)
            return 2
        await policies.set_policy(tenant_id, policy, by="cli")
        _show(args.tenant, policy_json(policy))
        return 0

    return _with_policies(settings, args.tenant, work)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async def work(policies: DialPolicies, tenant_id: int) -> int:
        role = Role(args.role) if args.role else None
        verdict = await policies.judge(tenant_id, args.number, role=role)
        print(f"{'allowed' if verdict.allowed else 'refused'} ({verdict.reason}): "
              f"{verdict.message}")
        return 0 if verdict.allowed else 3

    return _with_policies(settings, args.tenant, work)


def _with_numbers(settings: Settings, tenant: str,
                  work: Callable[[CallerIdStore, int], Awaitable[int]]) -> int:
    from pbx_stasis.dialing.caller_id_store import CallerIdStore

    async def on(policies: DialPolicies, tenant_id: int) -> int:
        return await work(CallerIdStore(policies.db), tenant_id)

    return _with_policies(settings, tenant, on)


def _show_numbers(tenant: str, ids: CallerIds, trunk: str | None) -> None:
    print(f"tenant {tenant}: outbound numbers")
    for item in ids.numbers:
        print(f"  {item.number}{'  (default)' if item.default else ''}"
              f"{f'  {item.label}' if item.label else ''}")
    if not ids.numbers:
        print(f"  - (outside calls present the trunk's: {trunk or 'none'})")


def cmd_numbers(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.dialing.caller_ids import CallerIdsInvalid, checked_caller_ids, e164

    async def work(store: CallerIdStore, tenant_id: int) -> int:
        ids = await store.caller_ids(tenant_id)
        action = args.numbers_command
        if action is not None:
            try:
                number = e164(args.number)
            except ValueError as exc:
                print(f"error: NUMBER: {exc}", file=sys.stderr)
                return 2
            listed = [item for item in ids.json() if item["number"] != number]
            if action == "remove" and len(listed) == len(ids.numbers):
                print(f"error: NUMBER: {number} is not one of the tenant's numbers",
                      file=sys.stderr)
                return 2
            if action == "add":
                old = next((item for item in ids.numbers if item.number == number), None)
                label = args.label if args.label is not None else (old.label if old else "")
                if args.default:
                    for item in listed:
                        item["default"] = False
                listed.append({"number": number, "label": label,
                               "default": args.default or bool(old and old.default)})
            try:  # the API's schema and rules (dialing/caller_ids.py)
                ids = checked_caller_ids({"numbers": listed})
            except CallerIdsInvalid as exc:
                for field, message in exc.problems.items():
                    print(f"error: {field}: {message}", file=sys.stderr)
                return 2
            await store.set_caller_ids(tenant_id, ids, by="cli")
        _show_numbers(args.tenant, ids, settings.trunk.caller_id)
        return 0

    return _with_numbers(settings, args.tenant, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dialing = sub.add_parser("dialing", help="which outside numbers a tenant may dial")
    actions = dialing.add_subparsers(dest="dialing_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the tenant's dialling policy")
    show.set_defaults(func=cmd_show)
    change = actions.add_parser(
        "set", help="change the tenant's dialling policy (lists comma-separated; '' clears)")
    change.add_argument("--countries", help="countries whose ordinary numbers may be dialled, "
                                            "e.g. US,CA")
    change.add_argument("--allow", help="E.164 prefixes always allowed, e.g. +1900555 "
                                        "(premium-rate and other costly kinds need one)")
    change.add_argument("--block", help="E.164 prefixes always refused, e.g. +1876")
    change.add_argument("--roles", help="roles that may place outside calls "
                                        "(default agent,supervisor)")
    change.set_defaults(func=cmd_set)
    check = actions.add_parser("check", help="whether a number may be dialled (exit 3: no)")
    check.add_argument("number")
    check.add_argument("--role", choices=[role.value for role in Role],
                       help="as dialled by this role (default: an IVR transfer, no person)")
    check.set_defaults(func=cmd_check)
    numbers = actions.add_parser(
        "numbers", help="the tenant's outbound numbers (caller IDs of its outside calls)")
    numbers.set_defaults(func=cmd_numbers)
    changes = numbers.add_subparsers(dest="numbers_command", metavar="ACTION")
    add = changes.add_parser("add", help="add a number, or change its label or make it the "
                                         "default")
    add.add_argument("number", help="in international form, e.g. +14155550100")
    add.add_argument("--label", help="what people call it, e.g. Sales line")
    add.add_argument("--default", action="store_true",
                     help="present it when nothing else is chosen")
    remove = changes.add_parser("remove", help="remove a number")
    remove.add_argument("number")
    for action in (show, change, check, numbers):
        commands.tenant_argument(action)
    for action in (add, remove):  # a --tenant given before the action stays
        commands.tenant_argument(action, keep_earlier=True)
