"""Queues and agents as stored: read them for the ACD, change them for admins and the CLI."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pbx_stasis.acd.model import AgentConfig, QueueConfig
from pbx_stasis.acd.settings import (
    SettingsInvalid,
    agent_settings,
    queue_config,
    queue_settings,
)
from pbx_stasis.acd.tables import AgentRow, QueueRow
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.store import Database, StoreError, utc_now
from pbx_stasis.store.tables import User


def _stored_queue(row: QueueRow) -> QueueConfig:
    # Rows go through the schema the API and the CLI save with; a row that does not fit it
    # (written by hand, or by an older version's laxer CLI) is named in one line, not a
    # traceback.
    try:
        return queue_config(row.name, row.settings)
    except SettingsInvalid as exc:
        problems = "; ".join(f"{key}: {message}" for key, message in exc.problems.items())
        raise StoreError(
            f"queue {row.name[:100]!r} of tenant {row.tenant_id} as stored is invalid: {problems}"
        ) from None


def queue_key(tenant_id: int, name: str) -> str:
    """The ACD core has one namespace; tenants' queues may share names."""
    return f"{tenant_id}:{name}"


def split_queue_key(key: str) -> tuple[int, str]:
    tenant, _, name = key.partition(":")
    return int(tenant), name


@dataclass(frozen=True)
class AgentRecord:
    user_id: int
    tenant_id: int
    username: str
    name: str
    endpoint: str
    sip_password: str
    contact: str | None
    extension: str
    skills: Mapping[str, int]
    queues: Mapping[str, int]
    wrapup: float | None

    @property
    def agent_id(self) -> str:
        return str(self.user_id)

    def config(self) -> AgentConfig:
        return AgentConfig(
            id=self.agent_id,
            endpoint=f"PJSIP/{self.endpoint}",
            name=self.name,
            skills=dict(self.skills),
            penalties={queue_key(self.tenant_id, q): p for q, p in self.queues.items()},
            wrapup=self.wrapup,
        )


class AcdDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def queues(self, tenant_id: int | None = None) -> list[tuple[int, QueueConfig]]:
        statement = select(QueueRow).order_by(QueueRow.tenant_id, QueueRow.name)
        if tenant_id is not None:
            statement = statement.where(QueueRow.tenant_id == tenant_id)
        async with self.db.session() as session:
            rows = list(await session.scalars(statement))
        return [(row.tenant_id, _stored_queue(row)) for row in rows]

    async def save_queue(
        self, tenant_id: int, name: str, settings: Mapping[str, Any]
    ) -> QueueConfig:
        """Create or replace a queue; SettingsInvalid names each bad field (a caller ID must
        be one of the tenant's outbound numbers)."""
        config = queue_config(name, settings)
        if config.caller_id is not None:
            numbers = await CallerIdStore(self.db).caller_ids(tenant_id)
            if not numbers.owns(config.caller_id):
                raise SettingsInvalid({"caller_id": (
                    f"{config.caller_id} is not one of the tenant's outbound numbers "
                    f"({', '.join(n.number for n in numbers.numbers) or 'it has none yet'})")})
        stored = queue_settings(config)
        async with self.db.transaction() as tx:
            row = await tx.scalar(
                select(QueueRow).where(QueueRow.tenant_id == tenant_id, QueueRow.name == name)
            )
            if row is None:
                tx.add(QueueRow(tenant_id=tenant_id, name=name, settings=stored))
            else:
                row.settings = stored
                row.updated_at = utc_now()
        return config

    async def agents(self, tenant_id: int | None = None) -> list[AgentRecord]:
        statement = select(AgentRow, User).join(User, User.id == AgentRow.user_id)
        if tenant_id is not None:
            statement = statement.where(AgentRow.tenant_id == tenant_id)
        async with self.db.session() as session:
            rows = (await session.execute(statement.order_by(AgentRow.user_id))).all()
        return [_record(agent, user) for agent, user in rows]

    async def agent(self, user_id: int) -> AgentRecord | None:
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(AgentRow, User)
                    .join(User, User.id == AgentRow.user_id)
                    .where(AgentRow.user_id == user_id)
                )
            ).first()
        return None if row is None else _record(row[0], row[1])

    async def save_agent(
        self,
        user_id: int,
        *,
        skills: Mapping[str, int] | None = None,
        queues: Mapping[str, int] | None = None,
        wrapup: float | None = None,
        contact: str | None = None,
    ) -> AgentRecord:
        """Make a user an agent (new endpoint and random SIP password) or update them;
        SettingsInvalid names each bad field (the rule of the admin's agent page)."""
        checked = agent_settings(skills=skills, queues=queues, wrapup=wrapup, contact=contact)
        skills, queues, wrapup, contact = (
            checked.skills, checked.queues, checked.wrapup, checked.contact)
        async with self.db.transaction() as tx:
            user = await tx.get(User, user_id)
            if user is None:
                raise StoreError(f"no user with id {user_id}")
            row = await tx.get(AgentRow, user_id)
            if row is None:
                row = AgentRow(
                    user_id=user_id,
                    tenant_id=user.tenant_id,
                    endpoint=f"agent-{user_id}",
                    sip_password=new_sip_password(),
                    extension=str(1000 + user_id),
                    skills=dict(skills or {}),
                    queues=dict(queues or {}),
                    wrapup=wrapup,
                    contact=contact,
                )
                tx.add(row)
            else:
                if skills is not None:
                    row.skills = dict(skills)
                if queues is not None:
                    row.queues = dict(queues)
                row.wrapup = wrapup if wrapup is not None else row.wrapup
                row.contact = contact if contact is not None else row.contact
                row.updated_at = utc_now()
            await tx.flush()
            return _record(row, user)

    async def reset_sip_password(self, user_id: int) -> str:
        password = new_sip_password()
        async with self.db.transaction() as tx:
            row = await tx.get(AgentRow, user_id)
            if row is None:
                raise StoreError(f"user {user_id} is not an agent")
            row.sip_password = password
            row.updated_at = utc_now()
        return password


def new_sip_password() -> str:
    return secrets.token_urlsafe(18)


def _record(agent: AgentRow, user: User) -> AgentRecord:
    return AgentRecord(
        user_id=agent.user_id,
        tenant_id=agent.tenant_id,
        username=user.username,
        name=user.display_name,
        endpoint=agent.endpoint,
        sip_password=agent.sip_password,
        contact=agent.contact,
        extension=agent.extension,
        skills=dict(agent.skills),
        queues=dict(agent.queues),
        wrapup=agent.wrapup,
    )
