"""Versions of a tenant's IVR flow files in the database: add, activate, list, compare."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.ivr.tables import IvrVersionRow
from pbx_stasis.store import Database, StoreError, utc_now
from pbx_stasis.store.tables import Tenant

Source = tuple[str, str]  # (file name, YAML text)


@dataclass(frozen=True, slots=True)
class IvrVersion:
    """One stored version: the flow files exactly as they were validated and applied."""

    id: int
    tenant_id: int
    number: int
    created_at: datetime
    created_by: str
    created_by_user_id: int | None
    sources: tuple[Source, ...]
    comment: str | None
    active: bool

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.sources)


class UnknownVersion(StoreError):
    """No version with that number in the tenant."""


def _version(row: IvrVersionRow) -> IvrVersion:
    return IvrVersion(
        id=row.id,
        tenant_id=row.tenant_id,
        number=row.number,
        created_at=row.created_at,
        created_by=row.created_by,
        created_by_user_id=row.created_by_user_id,
        sources=tuple((str(s["file"]), str(s["text"])) for s in row.sources),
        comment=row.comment,
        active=row.active,
    )


class IvrVersions:
    """The ivr_versions table. A tenant has at most one active version (a unique index)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        tenant_id: int,
        sources: Sequence[Source],
        *,
        created_by: str,
        user_id: int | None = None,
        comment: str | None = None,
    ) -> IvrVersion:
        """Store `sources` as the tenant's next version and make it the active one."""
        async with self.db.transaction() as tx:
            await self._lock(tx, tenant_id)
            number = (
                await tx.scalar(
                    select(func.max(IvrVersionRow.number)).where(
                        IvrVersionRow.tenant_id == tenant_id
                    )
                )
                or 0
            ) + 1
            await self._deactivate(tx, tenant_id)
            row = IvrVersionRow(
                tenant_id=tenant_id,
                number=number,
                created_at=utc_now(),
                created_by=created_by,
                created_by_user_id=user_id,
                sources=[{"file": name, "text": text} for name, text in sources],
                comment=comment,
                active=True,
            )
            tx.add(row)
            await tx.flush()
            return _version(row)

    async def activate(self, tenant_id: int, number: int) -> IvrVersion:
        """Make an existing version the active one again (a rollback)."""
        async with self.db.transaction() as tx:
            await self._lock(tx, tenant_id)
            row = await tx.scalar(
                select(IvrVersionRow).where(
                    IvrVersionRow.tenant_id == tenant_id, IvrVersionRow.number == number
                )
            )
            if row is None:
                raise UnknownVersion(f"no IVR version {number}")
            if not row.active:
                await self._deactivate(tx, tenant_id)
                row.active = True
                await tx.flush()
            return _version(row)

    @staticmethod
    async def _lock(tx: AsyncSession, tenant_id: int) -> None:
        """Serialize version changes of one tenant (PostgreSQL row lock; SQLite writers are
        serialized already), so two admins applying at once get numbers n and n+1."""
        await tx.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    @staticmethod
    async def _deactivate(tx: AsyncSession, tenant_id: int) -> None:
        await tx.execute(
            update(IvrVersionRow)
            .where(IvrVersionRow.tenant_id == tenant_id, IvrVersionRow.active)
            .values(active=False)
        )

    async def get(self, tenant_id: int, number: int) -> IvrVersion | None:
        async with self.db.session() as session:
            row = await session.scalar(
                select(IvrVersionRow).where(
                    IvrVersionRow.tenant_id == tenant_id, IvrVersionRow.number == number
                )
            )
            return _version(row) if row is not None else None

    async def active(self, tenant_id: int) -> IvrVersion | None:
        async with self.db.session() as session:
            row = await session.scalar(
                select(IvrVersionRow).where(
                    IvrVersionRow.tenant_id == tenant_id, IvrVersionRow.active
                )
            )
            return _version(row) if row is not None else None

    async def all_active(self) -> list[IvrVersion]:
        """The active version of every tenant that has one."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(IvrVersionRow).where(IvrVersionRow.active).order_by(IvrVersionRow.tenant_id)
            )
            return [_version(row) for row in rows]

    async def active_numbers(self) -> dict[int, int]:
        """tenant id -> number of its active version: a cheap query to notice changes."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(IvrVersionRow.tenant_id, IvrVersionRow.number).where(IvrVersionRow.active)
            )
            return {tenant_id: number for tenant_id, number in rows}

    async def list(self, tenant_id: int) -> list[IvrVersion]:
        """Every version of the tenant, newest first."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(IvrVersionRow)
                .where(IvrVersionRow.tenant_id == tenant_id)
                .order_by(IvrVersionRow.number.desc())
            )
            return [_version(row) for row in rows]


def diff_versions(old: IvrVersion, new: IvrVersion) -> str:
    """A unified diff of every flow file between two versions (empty when identical)."""
    before, after = dict(old.sources), dict(new.sources)
    names = [name for name, _ in old.sources]
    names += [name for name, _ in new.sources if name not in before]
    out: list[str] = []
    for name in names:
        out.extend(
            difflib.unified_diff(
                before.get(name, "").splitlines(keepends=True),
                after.get(name, "").splitlines(keepends=True),
                fromfile=f"v{old.number}/{name}" if name in before else "/dev/null",
                tofile=f"v{new.number}/{name}" if name in after else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)
