"""`pbx token add|list|revoke`: API tokens from the command line (web/tokens.py's rules)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from pbx_stasis.store import commands
from pbx_stasis.store.kinds import Role

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.store.db import Database
    from pbx_stasis.store.tables import User


async def _owner(db: Database, tenant: str, username: str) -> User | None:
    from sqlalchemy import func, select

    from pbx_stasis.store.tables import Tenant, User

    statement = (select(User).join(Tenant, Tenant.id == User.tenant_id)
                 .where(func.lower(Tenant.slug) == tenant.strip().lower())
                 .where(func.lower(User.username) == username.strip().lower()))
    async with db.session() as session:
        return await session.scalar(statement)


async def _tenant_id(db: Database, tenant: str) -> int | None:
    # Not store/commands.py's tenant_id: a tenant missing here is a usage error, said by _act as
    # "--tenant: ..." with exit 2, like --user's.
    from sqlalchemy import func, select

    from pbx_stasis.store.tables import Tenant

    statement = select(Tenant.id).where(func.lower(Tenant.slug) == tenant.strip().lower())
    async with db.session() as session:
        return await session.scalar(statement)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    return commands.with_database(settings.database.url, lambda db: _act(db, args))


async def _act(db: Database, args: Any) -> int:
    # SQLAlchemy and the web kernel load here, not for every `pbx` command's parser.
    from pbx_stasis.store.base import utc_now
    from pbx_stasis.web.routing import RANK
    from pbx_stasis.web.tokens import ApiTokens

    tokens = ApiTokens(db, utc_now)
    if args.token_command == "add":
        name = " ".join(args.name.split())
        if not name or len(name) > 100:
            print("error: name: must be 1-100 characters on one line", file=sys.stderr)
            return 2
        user = await _owner(db, args.tenant, args.user)
        if user is None or user.disabled:
            print(f"error: --user: no active user {args.user!r} in tenant {args.tenant!r}",
                  file=sys.stderr)
            return 2
        role = Role(args.role)
        if RANK[role] > RANK[user.role]:  # the pages' rule: never above the user's own role
            print(f"error: --role: {role} is above {user.username}'s role ({user.role})",
                  file=sys.stderr)
            return 2
        record, token = await tokens.create(user.tenant_id, user.id, name, role)
        print(f"token {record.id} ({record.name}, {record.role}) for {user.username}; "
              "shown once, keep it now:", file=sys.stderr)
        print(token)
        return 0
    tenant_id = await _tenant_id(db, args.tenant)
    if tenant_id is None:
        print(f"error: --tenant: no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    if args.token_command == "list":
        for item in await tokens.list(tenant_id):
            used = f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "never"
            state = "revoked" if item.revoked_at else "active"
            print(f"{item.id:>5} {item.prefix}… {item.role:<10} {state:<8} last used {used:<16}"
                  f" by {item.created_by}: {item.name}")
        return 0
    if not await tokens.revoke(tenant_id, args.id):
        print(f"error: no token {args.id} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked")
    return 0


def add_token_commands(sub: Any) -> None:
    token = sub.add_parser("token", help="API tokens for machine clients").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    add = token.add_parser("add", help="make a token (printed once on stdout)")
    add.add_argument("name", help="what the token is for, e.g. 'CRM sync'")
    add.add_argument("--user", required=True, help="the user it acts as (its tenant's)")
    add.add_argument("--role", required=True, choices=[role.value for role in Role],
                     help="its role, not above the user's")
    commands.tenant_argument(add)
    listing = token.add_parser("list", help="the tenant's tokens (never the tokens themselves)")
    commands.tenant_argument(listing)
    revoke = token.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("id", type=int)
    commands.tenant_argument(revoke)
    for parser in (add, listing, revoke):
        parser.set_defaults(func=cmd_token)
