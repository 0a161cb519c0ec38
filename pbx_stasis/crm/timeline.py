"""A contact's timeline: everything that happened with them, newest first, merged from sources
declared once each. The CRM brings its calls (with their recordings), notes and dispositions;
another feature adds its own source in its plugin's setup (`Timeline.add`), as tickets do."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import select

from pbx_stasis.crm.contacts import ContactRecord, Contacts
from pbx_stasis.quality.core import POOR_MES, LegQuality
from pbx_stasis.quality.tables import CallQualityRow
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role


@dataclass(frozen=True)
class Viewer:
    """Who reads the timeline: an agent sees their own calls, and the tickets that are theirs or
    their queues' (`queues`); supervisors and above see everything of the tenant."""

    tenant_id: int
    user_id: int
    role: Role
    queues: tuple[str, ...] = ()

    @property
    def only_agent(self) -> int | None:
        return self.user_id if self.role is Role.AGENT else None


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened: when, what kind (call, note, disposition, ticket...), a one-line
    title, and the kind's own details (ids and links the page follows)."""

    at: datetime
    kind: str
    title: str
    detail: dict[str, Any] = field(default_factory=dict)


class TimelineSource(Protocol):
    """A feature's part of a contact's timeline."""

    name: str

    async def entries(
        self, contact: ContactRecord, viewer: Viewer, limit: int
    ) -> list[TimelineEntry]:
        """At most `limit` entries about this contact, newest first."""
        ...


def _when(entry: TimelineEntry) -> datetime:
    return entry.at


def merge(parts: Sequence[Sequence[TimelineEntry]], limit: int) -> list[TimelineEntry]:
    """The newest `limit` entries of sources each sorted newest first (a k-way merge)."""
    merged = heapq.merge(*parts, key=_when, reverse=True)
    return [entry for _, entry in zip(range(limit), merged, strict=False)]


class Timeline:
    """The sources, in the order they were declared; `read` merges them."""

    def __init__(self) -> None:
        self._sources: list[TimelineSource] = []

    def add(self, source: TimelineSource) -> None:
        if any(known.name == source.name for known in self._sources):
            raise ValueError(f"timeline source {source.name} is declared twice")
        self._sources.append(source)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(source.name for source in self._sources)

    async def read(
        self, contact: ContactRecord, viewer: Viewer, limit: int = 100
    ) -> list[TimelineEntry]:
        parts = [
            sorted(await source.entries(contact, viewer, limit), key=_when, reverse=True)
            for source in self._sources
        ]
        return merge(parts, limit)


class CallsSource:
    """The contact's calls (with their recordings' links), and the notes and dispositions the
    agents wrote for them: the calls with one of the contact's numbers."""

    name = "calls"

    def __init__(self, db: Database, contacts: Contacts) -> None:
        self._db = db
        self._contacts = contacts

    async def entries(
        self, contact: ContactRecord, viewer: Viewer, limit: int
    ) -> list[TimelineEntry]:
        calls = await self._contacts.history(
            viewer.tenant_id, contact.phones, limit, only_agent=viewer.only_agent
        )
        recordings = await self._recordings(viewer.tenant_id, [call.call_id for call in calls])
        quality = await self._quality(viewer.tenant_id, [call.call_id for call in calls])
        found: list[TimelineEntry] = []
        for call in calls:
            who = call.agent_name or "no agent"
            heard = "answered" if call.answered else "not answered"
            found.append(TimelineEntry(call.started_at, "call", f"{call.direction.value} call, "
                                       f"{heard} ({who})", {
                "call_id": call.call_id, "direction": call.direction.value,
                "number": call.number, "answered": call.answered, "duration": call.duration,
                "queue": call.queue, "agent_name": call.agent_name,
                "recordings": recordings.get(call.call_id, []),
                "quality": quality.get(call.call_id),
            }))
            # The wrap-up comes after the call; the call record keeps no time of its own for it.
            if call.disposition is not None:
                found.append(TimelineEntry(call.started_at, "disposition", call.disposition, {
                    "call_id": call.call_id,
                    "follow_up_on": call.follow_up_on.isoformat() if call.follow_up_on else None,
                }))
            if call.notes:
                found.append(TimelineEntry(call.started_at, "note", call.notes, {
                    "call_id": call.call_id, "agent_name": call.agent_name,
                }))
        return found

    async def _recordings(
        self, tenant_id: int, call_ids: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        if not call_ids:
            return {}
        statement = (
            select(Recording.id, Recording.call_id, Recording.duration_seconds)
            .where(Recording.tenant_id == tenant_id, Recording.call_id.in_(call_ids))
            .where(Recording.kind == RecordingKind.CALL)
            .order_by(Recording.started_at)
        )
        links: dict[str, list[dict[str, Any]]] = {}
        async with self._db.session() as session:
            for recording_id, call_id, seconds in (await session.execute(statement)).all():
                links.setdefault(call_id, []).append({
                    "id": recording_id, "duration": seconds,
                    "audio": f"/api/recordings/{recording_id}/audio",
                })
        return links


    async def _quality(self, tenant_id: int, call_ids: list[str]
                       ) -> dict[str, dict[str, Any]]:
        """Each call's audio quality per leg (quality/: MES, jitter, loss), with the poor bar."""
        if not call_ids:
            return {}
        statement = select(CallQualityRow).where(CallQualityRow.tenant_id == tenant_id,
                                                 CallQualityRow.call_id.in_(call_ids))
        found: dict[str, dict[str, Any]] = {}
        async with self._db.session() as session:
            for row in await session.scalars(statement.order_by(CallQualityRow.id)):
                legs = found.setdefault(row.call_id, {"poor_below_mes": POOR_MES, "legs": {}})
                legs["legs"][row.leg] = LegQuality(row.mes, row.min_mes, row.jitter_ms, row.lost,
                                                   row.received, row.rtt_ms).as_json()
        return found


TIMELINE: web.AppKey[Timeline] = web.AppKey("timeline", Timeline)
