"""`pbx vnum ...`: a tenant's virtual numbers and masked two-party mappings.

    pbx vnum list [--tenant default]
    pbx vnum add +14155550160 [--label Riders] [--queue support] [--tenant default]
    pbx vnum remove +14155550160 [--tenant default]
    pbx vnum map PARTY_A PARTY_B [--ttl 3600] [--virtual +14155550160] [--reference ORDER]
    pbx vnum mappings [--live] [--tenant default]
    pbx vnum revoke MAPPING_ID [--tenant default]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.virtualnumbers.service import VirtualNumbers


def _with_store(settings: Settings, tenant: str,
                work: Callable[[VirtualNumbers, int], Awaitable[int]]) -> int:
    from pbx_stasis.virtualnumbers.service import VirtualNumbers

    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(VirtualNumbers(db), tenant_id))


def _number(text: str, name: str) -> str | None:
    from pbx_stasis.dialing.caller_ids import e164

    try:
        return e164(text)
    except ValueError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return None


def cmd_pool(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.virtualnumbers.service import PoolNumber

    async def work(store: VirtualNumbers, tenant_id: int) -> int:
        pool = await store.pool(tenant_id)
        action = args.vnum_command
        if action in ("add", "remove"):
            number = _number(args.number, "NUMBER")
            if number is None:
                return 2
            kept = [entry for entry in pool if entry.number != number]
            if action == "remove" and len(kept) == len(pool):
                print(f"error: NUMBER: {number} is not in the pool", file=sys.stderr)
                return 2
            if action == "add":
                kept.append(PoolNumber(number, args.label or "", args.queue))
            taken = await store.set_pool(tenant_id, kept)
            if taken:
                print(f"error: NUMBER: {number} belongs to another tenant", file=sys.stderr)
                return 2
            pool = kept
        print(f"tenant {args.tenant}: virtual numbers")
        for entry in pool:
            print(f"  {entry.number}{f'  {entry.label}' if entry.label else ''}"
                  f"{f'  (calls back: queue {entry.queue})' if entry.queue else ''}")
        if not pool:
            print("  -")
        return 0

    return _with_store(settings, args.tenant, work)


def cmd_map(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.virtualnumbers.service import NoFreeNumber

    async def work(store: VirtualNumbers, tenant_id: int) -> int:
        party_a, party_b = _number(args.party_a, "PARTY_A"), _number(args.party_b, "PARTY_B")
        virtual = _number(args.virtual, "--virtual") if args.virtual else None
        if party_a is None or party_b is None or (args.virtual and virtual is None):
            return 2
        if party_a == party_b or not 60 <= args.ttl <= 30 * 24 * 3600:
            print("error: two different parties and a --ttl of 60 s to 30 days",
                  file=sys.stderr)
            return 2
        try:
            row = await store.create_mapping(tenant_id, party_a, party_b,
                                             ttl=timedelta(seconds=args.ttl), virtual=virtual,
                                             reference=args.reference, by="cli")
        except NoFreeNumber:
            print("error: no virtual number is free for these parties", file=sys.stderr)
            return 2
        print(f"mapping {row.id}: {party_a} <-> {party_b} through {row.virtual} until "
              f"{row.expires_at.isoformat()}")
        return 0

    return _with_store(settings, args.tenant, work)


def cmd_mappings(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store import utc_now

    async def work(store: VirtualNumbers, tenant_id: int) -> int:
        now = utc_now()
        for row in await store.mappings(tenant_id, live_at=now if args.live else None):
            state = (f"revoked by {row.revoked_by}" if row.revoked_at is not None
                     else "live" if row.expires_at > now else "expired")
            print(f"{row.id}  {row.virtual}  {row.party_a} <-> {row.party_b}  {state} "
                  f"{row.expires_at.isoformat()}  {row.reference}")
        return 0

    return _with_store(settings, args.tenant, work)


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.virtualnumbers.service import MappingEnded

    async def work(store: VirtualNumbers, tenant_id: int) -> int:
        try:
            row = await store.revoke_mapping(tenant_id, args.mapping_id, by="cli")
        except MappingEnded:
            print(f"error: MAPPING_ID: mapping {args.mapping_id} has already ended",
                  file=sys.stderr)
            return 2
        if row is None:
            print(f"error: MAPPING_ID: no mapping {args.mapping_id} in tenant {args.tenant}",
                  file=sys.stderr)
            return 2
        print(f"mapping {row.id}: {row.party_a} <-> {row.party_b} through {row.virtual} "
              "revoked")
        return 0

    return _with_store(settings, args.tenant, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vnum = sub.add_parser("vnum", help="virtual numbers and masked two-party calls")
    actions = vnum.add_subparsers(dest="vnum_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the tenant's pool of virtual numbers")
    listing.set_defaults(func=cmd_pool)
    add = actions.add_parser("add", help="add a number to the pool")
    add.add_argument("number", help="in international form, e.g. +14155550160")
    add.add_argument("--label", help="what it is for, e.g. Riders")
    add.add_argument("--queue", help="where customers calling it back go (after the agent "
                                     "they last talked with)")
    add.set_defaults(func=cmd_pool)
    remove = actions.add_parser("remove", help="remove a number from the pool")
    remove.add_argument("number")
    remove.set_defaults(func=cmd_pool)
    mapping = actions.add_parser("map", help="let two parties call each other through a "
                                             "virtual number, neither seeing the other's")
    mapping.add_argument("party_a")
    mapping.add_argument("party_b")
    mapping.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    mapping.add_argument("--virtual", help="a number of the pool (default: the first free)")
    mapping.add_argument("--reference", default="", help="e.g. the ride or order id")
    mapping.set_defaults(func=cmd_map)
    mappings = actions.add_parser("mappings", help="the masked mappings, newest first")
    mappings.add_argument("--live", action="store_true", help="only those not expired")
    mappings.set_defaults(func=cmd_mappings)
    revoke = actions.add_parser("revoke", help="end a live mapping now (its parties' next "
                                               "calls are refused)")
    revoke.add_argument("mapping_id", type=int)
    revoke.set_defaults(func=cmd_revoke)
    for action in (listing, add, remove, mapping, mappings, revoke):
        commands.tenant_argument(action)
