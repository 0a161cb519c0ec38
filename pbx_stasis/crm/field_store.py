"""The tenant's custom field definitions in the database (contact_field_defs)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from pbx_stasis.crm.fields import FieldKind, FieldSpec
from pbx_stasis.crm.tables import ContactFieldDef
from pbx_stasis.store.db import Database


class ContactFieldStore:
    """Definitions per tenant, replaced as a whole list by an admin."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_tenant(self, tenant_id: int) -> list[FieldSpec]:
        statement = (
            select(ContactFieldDef)
            .where(ContactFieldDef.tenant_id == tenant_id)
            .order_by(ContactFieldDef.position, ContactFieldDef.id)
        )
        async with self._db.session() as session:
            return [
                FieldSpec(row.name, FieldKind(row.kind), tuple(row.choices or ()))
                for row in await session.scalars(statement)
            ]

    async def replace(self, tenant_id: int, specs: Sequence[FieldSpec]) -> list[FieldSpec]:
        """Make `specs` the tenant's definitions, in this order (contacts keep their values)."""
        async with self._db.transaction() as tx:
            await tx.execute(delete(ContactFieldDef).where(ContactFieldDef.tenant_id == tenant_id))
            for position, spec in enumerate(specs):
                tx.add(ContactFieldDef(
                    tenant_id=tenant_id, name=spec.name, kind=spec.kind.value,
                    choices=list(spec.choices), position=position,
                ))
        return list(specs)
