"""Finding recordings for people: filtered lists of a tenant's recordings, and the access audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Select, select

from pbx_stasis.recording.store import RecordingRecord, record_of
from pbx_stasis.recording.tables import Recording, RecordingAccess, RecordingKind
from pbx_stasis.store import Database, utc_now
from pbx_stasis.store.tables import Call, User


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    """What to list. Days are whole UTC days, both ends included."""

    since: date | None = None
    until: date | None = None
    agent_user_id: int | None = None
    queue: str | None = None
    disposition: str | None = None
    kind: RecordingKind | None = RecordingKind.CALL
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ListedRecording:
    """A recording with what a list shows beside it (from the call and the agent)."""

    recording: RecordingRecord
    from_number: str
    to_number: str
    disposition: str | None
    agent_name: str | None


@dataclass(frozen=True, slots=True)
class AccessRecord:
    id: int
    recording_id: str
    call_id: str | None
    user_id: int
    action: str
    byte_range: str | None
    ip: str
    at: datetime


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class RecordingLibrary:
    """The recordings of each tenant as people search, play and download them."""

    def __init__(self, db: Database, directory: str | Path) -> None:
        self.db = db
        self.directory = Path(directory).resolve()

    def _query(self, tenant_id: int) -> Select[Recording, Call, str]:
        return (
            select(Recording, Call, User.display_name)
            .join(Call, Call.id == Recording.call_id)
            .outerjoin(User, User.id == Recording.agent_user_id)
            .where(Recording.tenant_id == tenant_id)
        )

    async def search(
        self, tenant_id: int, wanted: RecordingFilter, *, only_agent: int | None = None
    ) -> list[ListedRecording]:
        """Recordings of the tenant, newest first; `only_agent`: that agent's calls only."""
        statement = self._query(tenant_id)
        if only_agent is not None:
            statement = statement.where(Recording.agent_user_id == only_agent)
        if wanted.kind is not None:
            statement = statement.where(Recording.kind == wanted.kind)
        if wanted.since is not None:
            statement = statement.where(Recording.started_at >= _day_start(wanted.since))
        if wanted.until is not None:
            end = _day_start(wanted.until) + timedelta(days=1)
            statement = statement.where(Recording.started_at < end)
        if wanted.agent_user_id is not None:
            statement = statement.where(Recording.agent_user_id == wanted.agent_user_id)
        if wanted.queue is not None:
            statement = statement.where(Recording.queue == wanted.queue)
        if wanted.disposition is not None:
            statement = statement.where(Call.disposition == wanted.disposition)
            if only_agent is not None:  # a disposition they may not see must not filter either
                statement = statement.where(Call.agent_user_id == only_agent)
        statement = (
            statement.order_by(Recording.started_at.desc(), Recording.id)
            .limit(wanted.limit)
            .offset(wanted.offset)
        )
        async with self.db.session() as session:
            rows = (await session.execute(statement)).all()
        return [self._listed(recording, call, name, only_agent) for recording, call, name in rows]

    async def find(
        self, tenant_id: int, recording_id: str, *, only_agent: int | None = None
    ) -> ListedRecording | None:
        """One recording of the tenant (of that agent's calls with `only_agent`), else None."""
        if not recording_id or len(recording_id) > 64:
            return None
        statement = self._query(tenant_id).where(Recording.id == recording_id)
        if only_agent is not None:
            statement = statement.where(Recording.agent_user_id == only_agent)
        async with self.db.session() as session:
            row = (await session.execute(statement)).first()
        if row is None:
            return None
        recording, call, name = row
        return self._listed(recording, call, name, only_agent)

    @staticmethod
    def _listed(
        recording: Recording, call: Call, agent_name: str | None, only_agent: int | None
    ) -> ListedRecording:
        # An agent hears their own part of a call another agent finished (a transfer): the
        # call's disposition is that agent's, shown only to whoever may see the call.
        sees_call = only_agent is None or call.agent_user_id == only_agent
        return ListedRecording(
            recording=record_of(recording),
            from_number=call.from_number,
            to_number=call.to_number,
            disposition=call.disposition if sees_call else None,
            agent_name=agent_name,
        )

    def file_of(self, record: RecordingRecord) -> Path | None:
        """The file on disk, if it is there and inside the recordings directory."""
        path = (self.directory / record.path).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            return None
        return path

    async def note_access(
        self,
        record: RecordingRecord,
        *,
        user_id: int,
        action: str,
        ip: str,
        byte_range: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Audit one play or download (written before the first byte is sent)."""
        async with self.db.transaction() as tx:
            tx.add(
                RecordingAccess(
                    tenant_id=record.tenant_id,
                    recording_id=record.id,
                    call_id=record.call_id,
                    user_id=user_id,
                    action=action,
                    byte_range=byte_range[:64] if byte_range else None,
                    ip=ip[:64],
                    at=at or utc_now(),
                )
            )

    async def accesses(
        self, tenant_id: int, recording_id: str, limit: int = 200
    ) -> list[AccessRecord]:
        """Who played or downloaded a recording, newest first."""
        statement = (
            select(RecordingAccess)
            .where(
                RecordingAccess.tenant_id == tenant_id,
                RecordingAccess.recording_id == recording_id,
            )
            .order_by(RecordingAccess.at.desc(), RecordingAccess.id.desc())
            .limit(limit)
        )
        async with self.db.session() as session:
            return [
                AccessRecord(row.id, row.recording_id, row.call_id, row.user_id, row.action,
                             row.byte_range, row.ip, row.at)
                for row in await session.scalars(statement)
            ]
