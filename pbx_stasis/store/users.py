"""Tenants and users: who may log in, with which role, in which tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.store import accounts
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database, is_unique_violation
from pbx_stasis.store.errors import AlreadyExists, StoreError
from pbx_stasis.store.tables import Role, Tenant, User

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant as stored."""

    id: int
    name: str
    slug: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored; `password_hash` is whatever the web layer's hasher produced."""

    id: int
    tenant_id: int
    username: str
    display_name: str
    role: Role
    password_hash: str | None
    created_at: datetime
    disabled: bool


def _tenant(row: Tenant) -> TenantRecord:
    return TenantRecord(id=row.id, name=row.name, slug=row.slug, created_at=row.created_at)


def _user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        password_hash=row.password_hash,
        created_at=row.created_at,
        disabled=row.disabled,
    )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise StoreError(f"unknown role {role!r}: expected one of {choices}") from None


class Directory:
    """Tenants and their users."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def ensure_tenant(self, slug: str, name: str | None = None) -> TenantRecord:
        """The tenant with this slug, created (named `name`, default the slug) if missing;
        AccountInvalid if the slug breaks the rule (store/accounts.py)."""
        slug = accounts.tenant_slug(slug)
        async with self._db.transaction() as tx:
            return _tenant(await self._ensure_tenant(tx, slug, name or slug))

    async def ensure_default_tenant(self) -> TenantRecord:
        """The `default` tenant, created if missing."""
        return await self.ensure_tenant(DEFAULT_TENANT, "Default")

    async def get_tenant_by_slug(self, slug: str) -> TenantRecord | None:
        """The tenant with this slug in any case (slugs are stored in lower case)."""
        slug = slug.lower()
        async with self._db.session() as session:
            row = await session.scalar(select(Tenant).where(Tenant.slug == slug))
            return _tenant(row) if row is not None else None

    async def add_user(
        self,
        tenant_slug: str,
        username: str,
        role: Role | str,
        *,
        display_name: str | None = None,
        password_hash: str | None = None,
    ) -> UserRecord:
        """Create a user, and its tenant if missing; AlreadyExists if the name is taken there
        in any case, AccountInvalid if a field breaks its rule (store/accounts.py)."""
        checked_role = _role(role)
        tenant_slug = accounts.tenant_slug(tenant_slug)
        username = accounts.username(username)
        display_name = accounts.display_name(display_name) if display_name is not None else None
        async with self._db.transaction() as tx:
            tenant = await self._ensure_tenant(tx, tenant_slug, tenant_slug)
            row = User(
                tenant_id=tenant.id,
                username=username,
                display_name=display_name or username,
                role=checked_role,
                password_hash=password_hash,
                disabled=False,
            )
            tx.add(row)
            try:
                await tx.flush()
            except IntegrityError as exc:
                if is_unique_violation(exc):
                    raise AlreadyExists(
                        f"user {username!r} already exists in tenant {tenant_slug!r}"
                    ) from exc
                raise
            return _user(row)

    async def get_user(self, tenant_id: int, username: str) -> UserRecord | None:
        """A user by name in any case within a tenant (for logging in)."""
        username = username.lower()
        statement = select(User).where(User.tenant_id == tenant_id, User.username == username)
        async with self._db.session() as session:
            row = await session.scalar(statement)
            return _user(row) if row is not None else None

    async def get_user_by_id(self, user_id: int) -> UserRecord | None:
        async with self._db.session() as session:
            row = await session.get(User, user_id)
            return _user(row) if row is not None else None

    async def list_users(self, tenant_id: int) -> list[UserRecord]:
        """A tenant's users, by name."""
        statement = select(User).where(User.tenant_id == tenant_id).order_by(User.username)
        async with self._db.session() as session:
            return [_user(row) for row in await session.scalars(statement)]

    async def set_password_hash(self, user_id: int, password_hash: str | None) -> bool:
        """Replace a user's password hash (None: no password login); False if no such user."""
        return await self._update_user(user_id, password_hash=password_hash)

    async def set_disabled(self, user_id: int, disabled: bool) -> bool:
        """Disable or re-enable a user; False if no such user."""
        return await self._update_user(user_id, disabled=disabled)

    async def _update_user(self, user_id: int, **values: object) -> bool:
        statement = update(User).where(User.id == user_id).values(**values).returning(User.id)
        async with self._db.transaction() as tx:
            return (await tx.scalar(statement)) is not None

    async def _ensure_tenant(self, tx: AsyncSession, slug: str, name: str) -> Tenant:
        # INSERT ... ON CONFLICT DO NOTHING: two tasks creating the same tenant both succeed.
        values = {"slug": slug, "name": name, "created_at": utc_now()}
        if self._db.backend == "postgresql":
            await tx.execute(
                postgresql.insert(Tenant)
                .values(values)
                .on_conflict_do_nothing(index_elements=[Tenant.slug])
            )
        else:
            await tx.execute(
                sqlite.insert(Tenant)
                .values(values)
                .on_conflict_do_nothing(index_elements=[Tenant.slug])
            )
        return (await tx.scalars(select(Tenant).where(Tenant.slug == slug))).one()
