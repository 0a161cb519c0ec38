"""Usernames and tenant slugs in lower case only (compared case-insensitively, store/accounts.py).

`pbx user add` used to store names as typed: `THROW2` beside `throw2`, tenant `Acme` beside
`acme`, of which logins could only ever find one. Existing names are lowered; where two only
differed in case, the oldest keeps the name and the others become `<name>-<id>` (logged), so
every account can log in again. A CHECK constraint then keeps them lower case, and the existing
unique constraints become case-insensitive.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

log = logging.getLogger("alembic.runtime.migration")


def _lowered(
    rows: Iterable[sa.Row[tuple[int, object, str, str]]], max_length: int
) -> dict[int, str]:
    """id -> its new name: lowered (by the database's lower(), as the CHECK is), and for every
    row but the oldest of a group that differs only in case, `<name>-<id>`."""
    taken: set[tuple[object, str]] = set()
    wanted: dict[int, str] = {}
    clashes: list[tuple[int, object, str]] = []
    for row_id, scope, name, lowered in rows:
        if (scope, lowered) in taken:
            clashes.append((row_id, scope, lowered))
        else:
            taken.add((scope, lowered))
            if name != lowered:
                wanted[row_id] = lowered
    for row_id, scope, lowered in clashes:
        suffix = f"-{row_id}"
        renamed = lowered[: max_length - len(suffix)] + suffix
        while (scope, renamed) in taken:
            renamed = renamed[: max_length - 1 - len(suffix)] + "x" + suffix
        taken.add((scope, renamed))
        wanted[row_id] = renamed
        log.warning("%r (id %d) differed from another name only in case: renamed %r",
                    lowered, row_id, renamed)
    return wanted


def _rename(table: sa.TableClause, column: str, renames: dict[int, str]) -> None:
    # Two passes: a lowered name may be another row's current name until that one moves.
    bind = op.get_bind()
    for row_id in renames:
        bind.execute(sa.update(table).where(table.c.id == row_id)
                     .values({column: f"~moving-{row_id}"}))
    for row_id, name in renames.items():
        bind.execute(sa.update(table).where(table.c.id == row_id).values({column: name}))


def upgrade() -> None:
    bind = op.get_bind()
    tenants = sa.table("tenants", sa.column("id", sa.Integer), sa.column("slug", sa.String))
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("tenant_id", sa.Integer),
        sa.column("username", sa.String),
    )
    slugs = bind.execute(
        sa.select(tenants.c.id, sa.literal(0), tenants.c.slug, sa.func.lower(tenants.c.slug))
        .order_by(tenants.c.id)
    ).all()
    _rename(tenants, "slug", _lowered(slugs, 64))
    usernames = bind.execute(
        sa.select(users.c.id, users.c.tenant_id, users.c.username,
                  sa.func.lower(users.c.username))
        .order_by(users.c.id)
    ).all()
    _rename(users, "username", _lowered(usernames, 100))

    with op.batch_alter_table("tenants") as batch:
        batch.create_check_constraint(op.f("ck_tenants_slug_lower_case"), "slug = lower(slug)")
    with op.batch_alter_table("users") as batch:
        batch.create_check_constraint(
            op.f("ck_users_username_lower_case"), "username = lower(username)"
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_username_lower_case"), type_="check")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint(op.f("ck_tenants_slug_lower_case"), type_="check")
