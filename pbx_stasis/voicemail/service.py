"""The voicemail inbox's store: messages (recordings of kind voicemail) with their state, the
changes people make (heard, assigned, deleted, each a journal line and a voicemail:changed
event), the wallboard's new count per queue, retention, and the agent's My work source."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import Select, func, or_, select

from pbx_stasis.bus import Bus
from pbx_stasis.leads.work import WorkItem
from pbx_stasis.recording.events import RECORDING_READY, RecordingReady
from pbx_stasis.recording.retention import remove_recording
from pbx_stasis.recording.store import RecordingRecord, record_of
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import CallJournal, Database, utc_now
from pbx_stasis.store.tables import Call, Role, User
from pbx_stasis.voicemail.core import (
    DEFAULT_RETENTION_DAYS,
    Mailbox,
    Reader,
    Status,
    agent_mailboxes,
    new_per_queue,
    retention_cutoff,
)
from pbx_stasis.voicemail.events import VOICEMAIL_CHANGED, VoicemailChanged
from pbx_stasis.voicemail.tables import VoicemailRulesRow, VoicemailStateRow

log = logging.getLogger(__name__)

# Journal lines of the inbox (in the voicemail's call's journal).
VOICEMAIL_HEARD = "VOICEMAILHEARD"
VOICEMAIL_ASSIGNED = "VOICEMAILASSIGNED"
VOICEMAIL_DELETED = "VOICEMAILDELETED"
VOICEMAIL_PURGED = "VOICEMAILPURGE"


@dataclass(frozen=True, slots=True)
class Voicemail:
    """A message as the inbox shows it."""

    recording: RecordingRecord
    from_number: str
    to_number: str
    status: Status
    heard_at: datetime | None
    heard_by: int | None
    assigned_user_id: int | None
    assigned_name: str | None

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.recording.mailbox_kind, self.recording.mailbox)


# A message's row: its recording, its call, its state (if any), the assignee's name (if any).
_Inbox = Select[Recording, Call, VoicemailStateRow, str]


@dataclass(frozen=True, slots=True)
class InboxFilter:
    mailbox_kind: str | None = None  # "queue", "agent" or "general"
    mailbox: str | None = None
    status: Status | None = None
    assigned_user_id: int | None = None
    limit: int = 50
    offset: int = 0


def _visible(statement: _Inbox, reader: Reader) -> _Inbox:
    """An agent's share, in SQL (voicemail.core.may_read says the same per message)."""
    return statement.where(or_(
        VoicemailStateRow.assigned_user_id == reader.user_id,
        (Recording.mailbox_kind == "agent") & Recording.mailbox.in_(agent_mailboxes(reader)),
        (Recording.mailbox_kind == "queue") & Recording.mailbox.in_(reader.queues),
    ))


class Voicemails:
    """The inbox over the recordings table and its own state rows; changes go on `bus`."""

    def __init__(self, db: Database, directory: str | Path, bus: Bus | None = None) -> None:
        self.db = db
        self.directory = Path(directory)
        self.bus = bus

    def _select(self) -> _Inbox:
        return (
            select(Recording, Call, VoicemailStateRow, User.display_name)
            .join(Call, Call.id == Recording.call_id)
            .outerjoin(VoicemailStateRow, VoicemailStateRow.recording_id == Recording.id)
            .outerjoin(User, User.id == VoicemailStateRow.assigned_user_id)
            .where(Recording.kind == RecordingKind.VOICEMAIL)
        )

    @staticmethod
    def _of(row: Recording, call: Call, state: VoicemailStateRow | None,
            assigned_name: str | None) -> Voicemail:
        return Voicemail(
            recording=record_of(row), from_number=call.from_number, to_number=call.to_number,
            status=Status(state.status) if state is not None else Status.NEW,
            heard_at=state.heard_at if state is not None else None,
            heard_by=state.heard_by if state is not None else None,
            assigned_user_id=state.assigned_user_id if state is not None else None,
            assigned_name=assigned_name)

    async def inbox(self, tenant_id: int, reader: Reader, wanted: InboxFilter) -> list[Voicemail]:
        """The messages `reader` may read, newest first."""
        statement = self._select().where(Recording.tenant_id == tenant_id)
        if reader.role is Role.AGENT:
            statement = _visible(statement, reader)
        if wanted.mailbox_kind == "general":
            statement = statement.where(Recording.mailbox_kind.is_(None))
        elif wanted.mailbox_kind is not None:
            statement = statement.where(Recording.mailbox_kind == wanted.mailbox_kind)
        if wanted.mailbox is not None:
            statement = statement.where(Recording.mailbox == wanted.mailbox)
        if wanted.status is Status.NEW:
            statement = statement.where(or_(VoicemailStateRow.status.is_(None),
                                            VoicemailStateRow.status == Status.NEW.value))
        elif wanted.status is Status.HEARD:
            statement = statement.where(VoicemailStateRow.status == Status.HEARD.value)
        if wanted.assigned_user_id is not None:
            statement = statement.where(
                VoicemailStateRow.assigned_user_id == wanted.assigned_user_id)
        statement = (statement.order_by(Recording.started_at.desc(), Recording.id)
                     .limit(wanted.limit).offset(wanted.offset))
        async with self.db.session() as session:
            return [self._of(*row) for row in (await session.execute(statement)).all()]

    async def get(self, tenant_id: int, voicemail_id: str) -> Voicemail | None:
        statement = self._select().where(Recording.tenant_id == tenant_id,
                                         Recording.id == voicemail_id)
        async with self.db.session() as session:
            found = (await session.execute(statement)).first()
        return self._of(*found) if found is not None else None

    async def new_per_queue(self, tenant_id: int) -> dict[str, int]:
        """The wallboard's waiting work: new messages per queue mailbox."""
        statement = (
            select(Recording.mailbox_kind, Recording.mailbox, VoicemailStateRow.status,
                   func.count())
            .outerjoin(VoicemailStateRow, VoicemailStateRow.recording_id == Recording.id)
            .where(Recording.tenant_id == tenant_id, Recording.kind == RecordingKind.VOICEMAIL,
                   Recording.mailbox_kind == "queue")
            .group_by(Recording.mailbox_kind, Recording.mailbox, VoicemailStateRow.status)
        )
        async with self.db.session() as session:
            rows = (await session.execute(statement)).all()
        counts: dict[str, int] = {}
        for kind, name, status, many in rows:
            for queue, one in new_per_queue(
                    [(Mailbox(kind, name), Status(status or Status.NEW.value))]).items():
                counts[queue] = counts.get(queue, 0) + one * many
        return counts

    # --- changes --------------------------------------------------------------------------------

    @asynccontextmanager
    async def _changing(self, item: Voicemail) -> AsyncIterator[VoicemailStateRow]:
        """The message's state row in a transaction (made if it has none yet)."""
        async with self.db.transaction() as tx:
            row = await tx.get(VoicemailStateRow, item.recording.id)
            if row is None:
                row = VoicemailStateRow(recording_id=item.recording.id,
                                        tenant_id=item.recording.tenant_id,
                                        status=Status.NEW.value)
                tx.add(row)
            yield row
            row.updated_at = utc_now()

    async def mark(self, item: Voicemail, status: Status, *, by_user_id: int) -> Voicemail:
        """New or heard (heard: by whom, when; a journal line the first time)."""
        now = utc_now()
        async with self._changing(item) as row:
            first = row.status != status.value
            row.status = status.value
            row.heard_at = now if status is Status.HEARD else None
            row.heard_by = by_user_id if status is Status.HEARD else None
        if first:
            await CallJournal(self.db).append(
                self.db, tenant_id=item.recording.tenant_id, call_id=item.recording.call_id,
                event=VOICEMAIL_HEARD, at=now,
                data={"recording": item.recording.id, "status": status.value,
                      "by": by_user_id})
        return await self._changed(item, "heard" if status is Status.HEARD else "new")

    async def assign(self, item: Voicemail, user_id: int | None, *, by_user_id: int) -> Voicemail:
        async with self._changing(item) as row:
            row.assigned_user_id = user_id
        await CallJournal(self.db).append(
            self.db, tenant_id=item.recording.tenant_id, call_id=item.recording.call_id,
            event=VOICEMAIL_ASSIGNED, agent_user_id=user_id, at=utc_now(),
            data={"recording": item.recording.id, "to": user_id, "by": by_user_id})
        return await self._changed(item, "assigned")

    async def delete(self, item: Voicemail, *, by_user_id: int) -> None:
        """Deleted by hand: file and row (its state goes with it), one journal line."""
        await remove_recording(self.db, self.directory, item.recording, event=VOICEMAIL_DELETED,
                               at=utc_now(), data={"by": by_user_id})
        self._publish(item, "deleted")

    async def _changed(self, item: Voicemail, change: str) -> Voicemail:
        now = await self.get(item.recording.tenant_id, item.recording.id)
        assert now is not None  # changed just now in the same tenant
        self._publish(now, change)
        return now

    def _publish(self, item: Voicemail, change: str) -> None:
        if self.bus is None:
            return
        record = item.recording
        self.bus.publish(VOICEMAIL_CHANGED, record.tenant_id, VoicemailChanged(
            voicemail_id=record.id, change=change, mailbox_kind=record.mailbox_kind,
            mailbox=record.mailbox, status=item.status.value,
            assigned_user_id=item.assigned_user_id, duration_seconds=record.duration_seconds))

    # --- rules and retention ----------------------------------------------------------------

    async def retention_days(self, tenant_id: int) -> int | None:
        async with self.db.session() as session:
            row = await session.get(VoicemailRulesRow, tenant_id)
        return DEFAULT_RETENTION_DAYS if row is None else row.retention_days

    async def set_retention_days(self, tenant_id: int, days: int | None) -> None:
        async with self.db.transaction() as tx:
            row = await tx.get(VoicemailRulesRow, tenant_id)
            if row is None:
                tx.add(VoicemailRulesRow(tenant_id=tenant_id, retention_days=days,
                                         updated_at=utc_now()))
            else:
                row.retention_days = days
                row.updated_at = utc_now()

    async def purge_expired(self, now: datetime | None = None) -> list[str]:
        """Delete every voicemail older than its tenant's retention; the ids deleted."""
        now = now or utc_now()
        async with self.db.session() as session:
            tenants = list(await session.scalars(
                select(Recording.tenant_id).where(Recording.kind == RecordingKind.VOICEMAIL)
                .distinct()))
        deleted: list[str] = []
        for tenant_id in tenants:
            days = await self.retention_days(tenant_id)
            cutoff = retention_cutoff(now, days)
            if cutoff is None:
                continue
            async with self.db.session() as session:
                expired = [record_of(row) for row in await session.scalars(
                    select(Recording).where(Recording.tenant_id == tenant_id,
                                            Recording.kind == RecordingKind.VOICEMAIL,
                                            Recording.started_at < cutoff))]
            for record in expired:
                missing = await remove_recording(
                    self.db, self.directory, record, event=VOICEMAIL_PURGED, at=now,
                    data={"retention_days": days})
                if missing is not None:
                    deleted.append(record.id)
        if deleted:
            log.info("voicemail retention: %d message(s) deleted", len(deleted))
        return deleted

    # --- other features' views --------------------------------------------------------------

    async def work(self, tenant_id: int, user_id: int, queues: Sequence[str]) -> list[WorkItem]:
        """My work: the new messages of the agent's own mailbox, their queues' and those
        assigned to them, to call back (due since they were left)."""
        async with self.db.session() as session:
            username = await session.scalar(select(User.username).where(User.id == user_id))
        reader = Reader(Role.AGENT, user_id, username or "", tuple(queues))
        found = await self.inbox(tenant_id, reader, InboxFilter(status=Status.NEW, limit=100))
        return [WorkItem(kind="voicemail", id=item.recording.id, number=item.from_number,
                         name=None, due_at=item.recording.started_at, status="open",
                         detail={"voicemail_id": item.recording.id,
                                 "mailbox": item.mailbox.label,
                                 "duration_seconds": item.recording.duration_seconds,
                                 "audio_url": f"/api/recordings/{item.recording.id}/audio"})
                for item in found]

    async def relay(self, bus: Bus) -> None:
        """Tell the inboxes of each new message: recording:ready of a voicemail becomes
        voicemail:changed (new), with its mailbox."""
        subscription = bus.subscribe((RECORDING_READY,), size=200)
        try:
            while True:
                event = await subscription.get()
                ready = event.payload
                if not isinstance(ready, RecordingReady) or ready.kind != "voicemail":
                    continue
                bus.publish(VOICEMAIL_CHANGED, event.tenant_id, VoicemailChanged(
                    voicemail_id=ready.recording_id, change="new",
                    mailbox_kind=ready.mailbox_kind, mailbox=ready.mailbox,
                    status=Status.NEW.value, assigned_user_id=None,
                    duration_seconds=ready.duration_seconds))
        finally:
            subscription.close()


VOICEMAILS: web.AppKey[Voicemails] = web.AppKey("voicemails", Voicemails)


async def sweep_forever(voicemails: Voicemails, every: float = 3600.0) -> None:
    """Retention every `every` seconds until cancelled (a failed sweep is retried)."""
    while True:
        try:
            await voicemails.purge_expired()
        except Exception:
            log.exception("voicemail retention sweep failed; retrying in %.0f s", every)
        await asyncio.sleep(every)
