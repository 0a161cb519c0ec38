"""Call scripts as the web side holds them: each save a new version (the newest in use), the
script a call gets and its values (the contact's, the call's, the agent's, the IVR's from the
call's journal). Its routes reach it through the app key CALL_SCRIPTS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from pbx_stasis.callscripts.core import Candidate, IvrTrail, ScriptBody, choose, ivr_trail
from pbx_stasis.callscripts.tables import CallScriptVersion
from pbx_stasis.crm.contacts import ContactRecord
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallEvent, Direction, User


@dataclass(frozen=True)
class ScriptVersion:
    name: str
    version: int
    body: ScriptBody
    retired: bool
    saved_by: str | None
    saved_at: datetime


class CallScripts:
    """The tenant's scripts and their versions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def current(self, tenant_id: int, *, with_retired: bool = False) -> list[ScriptVersion]:
        """The newest version of each script, by name."""
        newest = (
            select(CallScriptVersion.name, func.max(CallScriptVersion.version).label("version"))
            .where(CallScriptVersion.tenant_id == tenant_id)
            .group_by(CallScriptVersion.name)
            .subquery()
        )
        statement = (
            select(CallScriptVersion, User.display_name)
            .join(newest, (newest.c.name == CallScriptVersion.name)
                  & (newest.c.version == CallScriptVersion.version))
            .outerjoin(User, User.id == CallScriptVersion.saved_by)
            .where(CallScriptVersion.tenant_id == tenant_id)
            .order_by(CallScriptVersion.name)
        )
        async with self._db.session() as session:
            found = [_version(row, who) for row, who in (await session.execute(statement)).all()]
        return [item for item in found if with_retired or not item.retired]

    async def versions(self, tenant_id: int, name: str) -> list[ScriptVersion]:
        """Every version of a script, newest first (none: no such script)."""
        statement = (
            select(CallScriptVersion, User.display_name)
            .outerjoin(User, User.id == CallScriptVersion.saved_by)
            .where(CallScriptVersion.tenant_id == tenant_id, CallScriptVersion.name == name)
            .order_by(CallScriptVersion.version.desc())
        )
        async with self._db.session() as session:
            return [_version(row, who) for row, who in (await session.execute(statement)).all()]

    async def save(self, tenant_id: int, name: str, body: ScriptBody, user_id: int | None,
                   now: datetime, *, retired: bool = False) -> ScriptVersion:
        """A new version of the script (the first makes it)."""
        async with self._db.transaction() as tx:
            last = await tx.scalar(select(func.max(CallScriptVersion.version)).where(
                CallScriptVersion.tenant_id == tenant_id, CallScriptVersion.name == name))
            row = CallScriptVersion(
                tenant_id=tenant_id, name=name, version=(last or 0) + 1,
                body=body.model_dump(mode="json"), retired=retired, saved_by=user_id,
                saved_at=now)
            tx.add(row)
            await tx.flush()
            who = await tx.scalar(select(User.display_name).where(User.id == user_id))
            return _version(row, who)

    async def for_call(self, tenant_id: int, call: Call) -> tuple[Candidate | None, IvrTrail]:
        """The candidates' pick for this call (core.choose) and the call's IVR trail."""
        statement = (
            select(CallEvent.event, CallEvent.data)
            .where(CallEvent.call_id == call.id, CallEvent.event.like("ivr.%"))
            .order_by(CallEvent.id)
        )
        async with self._db.session() as session:
            trail = ivr_trail((event, data or {})
                              for event, data in (await session.execute(statement)).all())
        candidates = [Candidate(item.name, item.version, item.body)
                      for item in await self.current(tenant_id)]
        return choose(candidates, call.queue, trail.path), trail


def call_values(call: Call, contact: ContactRecord | None, agent_name: str | None,
                trail: IvrTrail) -> dict[str, str]:
    """The values a script's variables take on this call."""
    number = call.from_number if call.direction is Direction.INBOUND else call.to_number
    values: dict[str, str] = {
        "call.number": number, "call.queue": call.queue or "",
        "call.dialled": call.to_number if call.direction is Direction.INBOUND else "",
        "call.direction": call.direction.value, "agent.name": agent_name or "",
        "ivr.flow": trail.flow or "", "ivr.language": trail.language or "",
    }
    for node, answer in trail.answers.items():
        values[f"ivr.{node}"] = answer
    if contact is not None:
        values |= {"contact.name": contact.name, "contact.company": contact.company or "",
                   "contact.phone": contact.phones[0] if contact.phones else ""}
        for key, value in contact.custom_fields.items():
            if value is not None:
                values[f"contact.{key}"] = str(value)
    return values


def _version(row: CallScriptVersion, saved_by: str | None) -> ScriptVersion:
    return ScriptVersion(row.name, row.version, ScriptBody.model_validate(row.body),
                         row.retired, saved_by, row.saved_at)


def version_json(item: ScriptVersion) -> dict[str, Any]:
    return {"name": item.name, "version": item.version, "retired": item.retired,
            "saved_by": item.saved_by, "saved_at": item.saved_at,
            "body": item.body.model_dump(mode="json")}


CALL_SCRIPTS: web.AppKey[CallScripts] = web.AppKey("call_scripts", CallScripts)
