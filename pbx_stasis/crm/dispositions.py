"""Dispositions per tenant, and a call's outcome (disposition, notes, follow-up) on its record,
with each agent's own outcome of their part of the call (a transferred call has several)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import Field
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.crm.tables import CallOutcomeRow, Disposition, FollowUp
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database, is_unique_violation
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import Call
from pbx_stasis.validation import LINES, WHOLE, Day, Flag, Model, Whole, text

DispositionName = Annotated[str, text(max_length=100)]


class DispositionFields(Model):
    """A disposition as an admin writes it (the API's body for a change)."""

    name: DispositionName
    requires_follow_up: Flag
    position: Annotated[Whole, Field(ge=0, le=10_000), WHOLE]
    active: Flag


class NewDispositionFields(Model):
    """A new disposition: active, placed last."""

    name: DispositionName
    requires_follow_up: Flag = False


class OutcomeFields(Model):
    """A call's outcome as the agent writes it (CallOutcome once checked against the tenant's
    dispositions)."""

    disposition: DispositionName
    notes: Annotated[
        str, text(min_length=0, max_length=10_000, pattern=LINES, strip=False)
    ] | None = None
    follow_up_on: Day | None = None


@dataclass(frozen=True)
class DispositionRecord:
    id: int
    name: str
    requires_follow_up: bool
    position: int
    active: bool


def _record(row: Disposition) -> DispositionRecord:
    return DispositionRecord(
        id=row.id,
        name=row.name,
        requires_follow_up=row.requires_follow_up,
        position=row.position,
        active=row.active,
    )


class Dispositions:
    """The outcomes agents choose from, configured per tenant. A tenant with none asks no
    disposition at the end of a call: its agents leave wrap-up without one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def tenants_in_use(self) -> set[int]:
        """The tenants that have at least one active disposition."""
        statement = select(Disposition.tenant_id).where(Disposition.active.is_(True)).distinct()
        async with self._db.session() as session:
            return set(await session.scalars(statement))

    async def required(self, tenant_id: int) -> bool:
        """Whether the tenant's agents must choose a disposition to leave wrap-up."""
        statement = select(Disposition.id).where(
            Disposition.tenant_id == tenant_id, Disposition.active.is_(True)).limit(1)
        async with self._db.session() as session:
            return await session.scalar(statement) is not None

    async def for_tenant(
        self, tenant_id: int, *, include_retired: bool = False
    ) -> list[DispositionRecord]:
        statement = select(Disposition).where(Disposition.tenant_id == tenant_id)
        if not include_retired:
            statement = statement.where(Disposition.active.is_(True))
        statement = statement.order_by(Disposition.position, Disposition.name)
        async with self._db.session() as session:
            return [_record(row) for row in await session.scalars(statement)]

    async def get(self, tenant_id: int, disposition_id: int) -> DispositionRecord | None:
        statement = select(Disposition).where(
            Disposition.id == disposition_id, Disposition.tenant_id == tenant_id
        )
        async with self._db.session() as session:
            row = await session.scalar(statement)
            return _record(row) if row is not None else None

    async def by_name(self, tenant_id: int, name: str) -> DispositionRecord | None:
        statement = select(Disposition).where(
            Disposition.tenant_id == tenant_id, Disposition.name == name
        )
        async with self._db.session() as session:
            row = await session.scalar(statement)
            return _record(row) if row is not None else None

    async def create(
        self, tenant_id: int, name: str, *, requires_follow_up: bool = False
    ) -> DispositionRecord:
        """Add a disposition at the end of the list; AlreadyExists if the name is taken."""
        async with self._db.transaction() as tx:
            last = await tx.scalar(
                select(func.max(Disposition.position)).where(Disposition.tenant_id == tenant_id)
            )
            row = Disposition(
                tenant_id=tenant_id,
                name=name,
                requires_follow_up=requires_follow_up,
                position=(last or 0) + 1,
                active=True,
            )
            tx.add(row)
            await _flush_unique(tx, name)
            return _record(row)

    async def update(
        self,
        tenant_id: int,
        disposition_id: int,
        *,
        name: str,
        requires_follow_up: bool,
        position: int,
        active: bool,
    ) -> DispositionRecord | None:
        """Change a disposition; None if the tenant has none with this id."""
        async with self._db.transaction() as tx:
            row = await tx.scalar(
                select(Disposition).where(
                    Disposition.id == disposition_id, Disposition.tenant_id == tenant_id
                )
            )
            if row is None:
                return None
            row.name = name
            row.requires_follow_up = requires_follow_up
            row.position = position
            row.active = active
            await _flush_unique(tx, name)
            return _record(row)

    async def retire(self, tenant_id: int, disposition_id: int) -> bool:
        """Stop offering a disposition; calls that have it keep it."""
        statement = (
            update(Disposition)
            .where(Disposition.id == disposition_id, Disposition.tenant_id == tenant_id)
            .values(active=False)
            .returning(Disposition.id)
        )
        async with self._db.transaction() as tx:
            return (await tx.scalar(statement)) is not None


async def _flush_unique(tx: AsyncSession, name: str) -> None:
    try:
        await tx.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise AlreadyExists(f"a disposition named {name!r} already exists") from exc
        raise


@dataclass(frozen=True)
class CallOutcome:
    """What the agent recorded for a call."""

    call_id: str
    disposition: str
    notes: str | None
    follow_up_on: date | None


# What another feature does with a recorded outcome, in its transaction (the follow-up
# becomes a call task...): (transaction, tenant_id, user_id, outcome).
OutcomeHook = Callable[[AsyncSession, int, int, "CallOutcome"], Awaitable[None]]


class Outcomes:
    """Writes an agent's wrap-up onto the call record, with its follow-up, in one transaction;
    `hooks` (added by other features' setup) run in the same transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.hooks: list[OutcomeHook] = []

    async def record(
        self,
        tenant_id: int,
        call_id: str,
        user_id: int,
        outcome: CallOutcome,
    ) -> bool:
        """Store the outcome on the tenant's call; False when the tenant has no such call."""
        async with self._db.transaction() as tx:
            found = await tx.scalar(
                update(Call)
                .where(Call.id == call_id, Call.tenant_id == tenant_id)
                .values(disposition=outcome.disposition, notes=outcome.notes)
                .returning(Call.id)
                .execution_options(synchronize_session=False)
            )
            if found is None:
                return False
            part = {"tenant_id": tenant_id, "call_id": call_id, "agent_user_id": user_id,
                    "disposition": outcome.disposition, "notes": outcome.notes,
                    "saved_at": utc_now()}
            again = {k: part[k] for k in ("disposition", "notes", "saved_at")}
            dialect = postgresql if self._db.backend == "postgresql" else sqlite
            await tx.execute(  # the agent's own part: saved again, it is replaced
                dialect.insert(CallOutcomeRow).values(part).on_conflict_do_update(
                    index_elements=[CallOutcomeRow.call_id, CallOutcomeRow.agent_user_id],
                    set_=again))
            for hook in self.hooks:
                await hook(tx, tenant_id, user_id, outcome)
            if outcome.follow_up_on is None:
                await tx.execute(delete(FollowUp).where(FollowUp.call_id == call_id))
                return True
            values = {
                "call_id": call_id,
                "tenant_id": tenant_id,
                "user_id": user_id,
                "due_on": outcome.follow_up_on,
                "created_at": utc_now(),
                "done_at": None,
            }
            changes = {"user_id": user_id, "due_on": outcome.follow_up_on, "done_at": None}
            # Upsert: a second wrap-up of the same call replaces its follow-up.
            if self._db.backend == "postgresql":
                await tx.execute(
                    postgresql.insert(FollowUp)
                    .values(values)
                    .on_conflict_do_update(index_elements=[FollowUp.call_id], set_=changes)
                )
            else:
                await tx.execute(
                    sqlite.insert(FollowUp)
                    .values(values)
                    .on_conflict_do_update(index_elements=[FollowUp.call_id], set_=changes)
                )
            return True

    async def has_disposition(self, tenant_id: int, call_id: str,
                              user_id: int | None = None) -> bool:
        """The call's disposition is saved (by `user_id`, for their part of it, when given: a
        call transferred between agents asks each of them), or the tenant has none to choose
        (never a trap)."""
        statement = select(Call.disposition).where(Call.id == call_id, Call.tenant_id == tenant_id)
        if user_id is not None:
            statement = select(CallOutcomeRow.disposition).where(
                CallOutcomeRow.call_id == call_id, CallOutcomeRow.tenant_id == tenant_id,
                CallOutcomeRow.agent_user_id == user_id)
        async with self._db.session() as session:
            if await session.scalar(statement):
                return True
        return not await Dispositions(self._db).required(tenant_id)
