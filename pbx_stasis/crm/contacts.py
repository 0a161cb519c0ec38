"""Contacts of a tenant: create, update, search, find by phone, and their call history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.crm.phones import Numbering, to_e164, written_forms
from pbx_stasis.crm.tables import CallOutcomeRow, Contact, ContactPhone, FollowUp
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, Direction, User
from pbx_stasis.validation import KEYS_MATCH, UNIQUE, Model, Scalar, text

CustomValue = str | int | float | bool | None

# A custom field's name, exactly as written (a key is not stripped); the pattern decides its
# length too, so that every bad name gets the same hint.
FieldName = Annotated[str, text(
    min_length=0, max_length=100, pattern=r"[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,63}",
    hint="names are 1-64 letters, digits, spaces, . _ -", strip=False,
)]


class ContactFields(Model):
    """A contact as a person writes it (the API's body). Its phones are checked apart, by
    phones.to_e164 with the tenant's numbering plan, and become a ContactDraft's E.164."""

    name: Annotated[str, text(max_length=200)]
    company: Annotated[str, text(min_length=0, max_length=200)] | None = None
    phones: Annotated[tuple[Annotated[str, text(max_length=40)], ...], Field(max_length=10)] = ()
    tags: Annotated[
        tuple[Annotated[str, text(max_length=40)], ...], Field(max_length=30), UNIQUE
    ] = ()
    custom_fields: Annotated[
        dict[FieldName, Scalar | None], Field(max_length=50), KEYS_MATCH
    ] = Field(default_factory=dict)


@dataclass(frozen=True)
class ContactDraft:
    """What a person typed for a contact; `phones` are already E.164 (see phones.to_e164)."""

    name: str
    company: str | None = None
    phones: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, CustomValue] | None = None


@dataclass(frozen=True)
class ContactRecord:
    id: int
    tenant_id: int
    name: str
    company: str | None
    phones: tuple[str, ...]
    tags: tuple[str, ...]
    custom_fields: dict[str, CustomValue]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OutcomePart:
    """One agent's outcome of their part of a call."""

    agent_user_id: int
    agent_name: str | None
    disposition: str
    notes: str | None


@dataclass(frozen=True)
class PastCall:
    """A call with one of the contact's numbers, as the contact card shows it: its last
    outcome, and each agent's own (`parts`, in the order they were saved) when it was
    transferred between agents."""

    call_id: str
    started_at: datetime
    direction: Direction
    number: str  # the contact's side of the call, as the switch wrote it
    answered: bool
    duration: int | None  # seconds from answer to hangup; None while live or never answered
    queue: str | None
    agent_user_id: int | None
    agent_name: str | None
    disposition: str | None
    notes: str | None
    follow_up_on: date | None
    parts: tuple[OutcomePart, ...] = ()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Contacts:
    """The contacts table, always within one tenant."""

    def __init__(self, db: Database, plan: Numbering) -> None:
        self._db = db
        self._plan = plan

    async def create(self, tenant_id: int, draft: ContactDraft) -> ContactRecord:
        now = utc_now()
        row = Contact(
            tenant_id=tenant_id,
            name=draft.name,
            company=draft.company,
            tags=list(draft.tags),
            custom_fields=dict(draft.custom_fields or {}),
            created_at=now,
            updated_at=now,
        )
        async with self._db.transaction() as tx:
            tx.add(row)
            await tx.flush()
            await self._set_phones(tx, tenant_id, row.id, draft.phones)
            return await self._record(tx, row)

    async def update(
        self, tenant_id: int, contact_id: int, draft: ContactDraft
    ) -> ContactRecord | None:
        """Replace every field of a contact; None when the tenant has no such contact."""
        async with self._db.transaction() as tx:
            row = await self._row(tx, tenant_id, contact_id)
            if row is None:
                return None
            row.name = draft.name
            row.company = draft.company
            row.tags = list(draft.tags)
            row.custom_fields = dict(draft.custom_fields or {})
            row.updated_at = utc_now()
            await tx.execute(delete(ContactPhone).where(ContactPhone.contact_id == row.id))
            await self._set_phones(tx, tenant_id, row.id, draft.phones)
            return await self._record(tx, row)

    async def delete(self, tenant_id: int, contact_id: int) -> bool:
        async with self._db.transaction() as tx:
            row = await self._row(tx, tenant_id, contact_id)
            if row is None:
                return False
            # Explicit: SQLite only cascades with foreign keys on, and PostgreSQL always does.
            await tx.execute(delete(ContactPhone).where(ContactPhone.contact_id == row.id))
            await tx.delete(row)
            return True

    async def get(self, tenant_id: int, contact_id: int) -> ContactRecord | None:
        async with self._db.session() as session:
            row = await self._row(session, tenant_id, contact_id)
            return await self._record(session, row) if row is not None else None

    async def search(self, tenant_id: int, text: str, limit: int = 25) -> list[ContactRecord]:
        """Contacts whose name, company, tag, custom value or phone contains `text` (all of them
        if empty)."""
        statement = select(Contact).where(Contact.tenant_id == tenant_id)
        words = text.strip()
        if words:
            pattern = _like(words.lower())
            digits = "".join(ch for ch in words if ch in "0123456789")
            phone_match = (
                select(ContactPhone.contact_id)
                .where(ContactPhone.tenant_id == tenant_id)
                .where(ContactPhone.number.like(_like(digits), escape="\\"))
            )
            conditions = [
                func.lower(Contact.name).like(pattern, escape="\\"),
                func.lower(func.coalesce(Contact.company, "")).like(pattern, escape="\\"),
                # Tags are a JSON list: matching its text finds "vip" inside ["vip","eu"].
                func.lower(cast(Contact.tags, String)).like(pattern, escape="\\"),
                # Custom values too ("plan": "Business Fiber"), by the same text match.
                func.lower(cast(Contact.custom_fields, String)).like(pattern, escape="\\"),
            ]
            if len(digits) >= 3:
                conditions.append(Contact.id.in_(phone_match))
            statement = statement.where(or_(*conditions))
        statement = statement.order_by(func.lower(Contact.name), Contact.id).limit(limit)
        async with self._db.session() as session:
            return await self._records(session, list(await session.scalars(statement)))

    async def by_phone(self, tenant_id: int, raw: str) -> list[ContactRecord]:
        """Contacts with this number (any written form), most recently updated first."""
        e164 = to_e164(raw, self._plan)
        if e164 is None:
            return []
        statement = (
            select(Contact)
            .join(ContactPhone, ContactPhone.contact_id == Contact.id)
            .where(ContactPhone.tenant_id == tenant_id, ContactPhone.number == e164)
            .where(Contact.tenant_id == tenant_id)
            .order_by(Contact.updated_at.desc(), Contact.id.desc())
        )
        async with self._db.session() as session:
            return await self._records(session, list((await session.scalars(statement)).unique()))

    async def history(
        self, tenant_id: int, phones: Sequence[str], limit: int = 20, *,
        only_agent: int | None = None,
    ) -> list[PastCall]:
        """The tenant's calls from or to any of these E.164 numbers, newest first;
        `only_agent`: that agent's calls only (web/call_access.py)."""
        forms: set[str] = set()
        for phone in phones:
            forms |= written_forms(phone, self._plan)
        if not forms:
            return []
        statement = (
            select(Call, User.display_name, FollowUp.due_on)
            .outerjoin(User, User.id == Call.agent_user_id)
            .outerjoin(FollowUp, FollowUp.call_id == Call.id)
            .where(Call.tenant_id == tenant_id)
            .where(or_(Call.from_number.in_(forms), Call.to_number.in_(forms)))
            .order_by(Call.started_at.desc(), Call.id)
            .limit(limit)
        )
        if only_agent is not None:
            statement = statement.where(Call.agent_user_id == only_agent)
        async with self._db.session() as session:
            result = await session.execute(statement)
            calls = [_past_call(call, agent, due, forms) for call, agent, due in result.all()]
            parts: dict[str, list[OutcomePart]] = {}
            if calls:
                outcomes = await session.execute(
                    select(CallOutcomeRow, User.display_name)
                    .outerjoin(User, User.id == CallOutcomeRow.agent_user_id)
                    .where(CallOutcomeRow.tenant_id == tenant_id,
                           CallOutcomeRow.call_id.in_([c.call_id for c in calls]))
                    .order_by(CallOutcomeRow.saved_at, CallOutcomeRow.id))
                for row, name in outcomes.all():
                    parts.setdefault(row.call_id, []).append(OutcomePart(
                        row.agent_user_id, name, row.disposition, row.notes))
        return [replace(c, parts=tuple(parts.get(c.call_id, ()))) for c in calls]

    async def _row(self, session: AsyncSession, tenant_id: int, contact_id: int) -> Contact | None:
        statement = select(Contact).where(Contact.id == contact_id, Contact.tenant_id == tenant_id)
        return await session.scalar(statement)

    async def _set_phones(
        self, tx: AsyncSession, tenant_id: int, contact_id: int, phones: Sequence[str]
    ) -> None:
        seen: list[str] = []
        for phone in phones:
            if phone not in seen:
                seen.append(phone)
        for position, number in enumerate(seen):
            tx.add(
                ContactPhone(
                    tenant_id=tenant_id, contact_id=contact_id, number=number, position=position
                )
            )
        await tx.flush()

    async def _record(self, session: AsyncSession, row: Contact) -> ContactRecord:
        (record,) = await self._records(session, [row])
        return record

    async def _records(self, session: AsyncSession, rows: list[Contact]) -> list[ContactRecord]:
        # One query for the phones of every row, not one per contact.
        phones: dict[int, list[str]] = {row.id: [] for row in rows}
        if rows:
            statement = (
                select(ContactPhone.contact_id, ContactPhone.number)
                .where(ContactPhone.contact_id.in_(list(phones)))
                .order_by(ContactPhone.position, ContactPhone.id)
            )
            for contact_id, number in (await session.execute(statement)).all():
                phones[contact_id].append(number)
        return [_contact(row, tuple(phones[row.id])) for row in rows]


def _contact(row: Contact, phones: tuple[str, ...]) -> ContactRecord:
    custom: dict[str, Any] = dict(row.custom_fields or {})
    return ContactRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        company=row.company,
        phones=phones,
        tags=tuple(row.tags or ()),
        custom_fields=custom,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _past_call(call: Call, agent_name: str | None, due: date | None, forms: set[str]) -> PastCall:
    duration: int | None = None
    if call.answered_at is not None and call.ended_at is not None:
        duration = max(0, round((call.ended_at - call.answered_at).total_seconds()))
    number = call.from_number if call.from_number in forms else call.to_number
    return PastCall(
        call_id=call.id,
        started_at=call.started_at,
        direction=call.direction,
        number=number,
        answered=call.answered_at is not None,
        duration=duration,
        queue=call.queue,
        agent_user_id=call.agent_user_id,
        agent_name=agent_name,
        disposition=call.disposition,
        notes=call.notes,
        follow_up_on=due,
    )
