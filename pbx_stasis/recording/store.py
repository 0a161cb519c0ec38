"""Keeping recordings: fetch the file from Asterisk, file it under the recordings directory,
and add its row (who, which call, how long, how big, checksum)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import secrets
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NotRequired, TypedDict, Unpack

from sqlalchemy import select

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.bus import Bus
from pbx_stasis.recording.events import RECORDING_READY, RecordingReady
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import Database, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    """A row of the recordings table; `path` is relative to the recordings directory."""

    id: str
    tenant_id: int
    call_id: str
    agent_user_id: int | None
    queue: str | None
    kind: RecordingKind
    mailbox_kind: str | None
    mailbox: str | None
    name: str
    path: str
    format: str
    started_at: datetime
    duration_seconds: float
    size_bytes: int
    sha256: str
    created_at: datetime
    tracks_path: str | None = None  # the per-speaker stereo WAV (recording/tracks.py)


class KeptDetails(TypedDict):
    """What `RecordingStore.keep` files with a recording, besides its audio, name and format."""

    tenant_id: int
    call_id: str
    kind: RecordingKind
    started_at: datetime
    duration: NotRequired[float | None]
    mailbox_kind: NotRequired[str | None]
    mailbox: NotRequired[str | None]
    queue: NotRequired[str | None]
    agent_user_id: NotRequired[int | None]
    tracks: NotRequired[bytes | None]


def record_of(row: Recording) -> RecordingRecord:
    return RecordingRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        call_id=row.call_id,
        agent_user_id=row.agent_user_id,
        queue=row.queue,
        kind=row.kind,
        mailbox_kind=row.mailbox_kind,
        mailbox=row.mailbox,
        name=row.name,
        path=row.path,
        format=row.format,
        started_at=row.started_at,
        duration_seconds=row.duration_seconds,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_at=row.created_at,
        tracks_path=row.tracks_path,
    )


def new_recording_id() -> str:
    """A fresh, unguessable recording id (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def wav_duration(data: bytes) -> float | None:
    """Seconds of audio in a WAV file's bytes; None when it is not a readable WAV file."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


def audio_seconds(data: bytes, fmt: str, duration: float | None) -> float | None:
    """How long a recording's audio is: read from the file for WAV, else `duration` (ARI's)."""
    seconds = wav_duration(data) if fmt.startswith("wav") else None
    return seconds if seconds is not None else duration


async def discard_in_asterisk(ari: AriClient, name: str, kept_as: str | None) -> None:
    """Delete a stored recording in Asterisk (kept on our side as `kept_as`, or not kept)."""
    try:
        await ari.recordings.delete_stored(name)
    except AriError as exc:  # a leftover in the spool is harmless
        log.warning("recording %s (kept as %s) not deleted in Asterisk: %s", name, kept_as, exc)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    # A reader never sees half a file: the name appears only once the data is there.
    os.replace(partial, target)


class RecordingStore:
    """Recordings on disk under `directory`, one row each in the recordings table."""

    def __init__(self, db: Database, directory: str | Path, *, bus: Bus | None = None) -> None:
        self.db = db
        self.directory = Path(directory)
        self.bus = bus  # told of each recording kept from Asterisk (recording:ready)

    def path_of(self, record: RecordingRecord) -> Path:
        return self.directory / record.path

    async def keep_from_asterisk(
        self, ari: AriClient, name: str, fmt: str, **details: Unpack[KeptDetails]
    ) -> RecordingRecord:
        """Download the stored recording `name` over ARI, keep it (`keep`), then delete it in
        Asterisk.

        Downloading works with any Asterisk, local or not, whatever its spool directory.
        """
        data = await ari.recordings.stored_file(name)
        record = await self.keep(data, name=name, fmt=fmt, **details)
        await discard_in_asterisk(ari, name, record.id)
        return record

    async def keep(
        self,
        data: bytes,
        *,
        name: str,
        fmt: str,
        tenant_id: int,
        call_id: str,
        kind: RecordingKind,
        started_at: datetime,
        duration: float | None = None,
        mailbox_kind: str | None = None,
        mailbox: str | None = None,
        queue: str | None = None,
        agent_user_id: int | None = None,
        tracks: bytes | None = None,
    ) -> RecordingRecord:
        """Write the audio file and its row; the file is removed again if the row is not stored.

        The duration is read from the file for WAV, else `duration` (e.g. from ARI) is used.
        `tracks`: the per-speaker stereo WAV, kept beside it as `<id>.tracks.wav`.
        """
        recording_id = new_recording_id()
        relative = f"{tenant_id}/{started_at:%Y/%m/%d}/{recording_id}.{fmt}"
        target = self.directory / relative
        seconds = audio_seconds(data, fmt, duration)
        if seconds is None:
            seconds = 0.0
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(_write, target, data)
        tracks_path = None
        if tracks is not None:
            tracks_path = f"{tenant_id}/{started_at:%Y/%m/%d}/{recording_id}.tracks.wav"
            await asyncio.to_thread(_write, self.directory / tracks_path, tracks)
        row = Recording(
            id=recording_id,
            tenant_id=tenant_id,
            call_id=call_id,
            agent_user_id=agent_user_id,
            queue=queue,
            kind=kind,
            mailbox_kind=mailbox_kind,
            mailbox=mailbox,
            name=name,
            path=relative,
            tracks_path=tracks_path,
            format=fmt,
            started_at=started_at,
            duration_seconds=round(seconds, 3),
            size_bytes=len(data),
            sha256=digest,
            created_at=utc_now(),
        )
        try:
            await self.db.writes.settle()  # the call's own row may still be queued
            async with self.db.transaction() as tx:
                tx.add(row)
        except BaseException:
            target.unlink(missing_ok=True)
            if tracks_path is not None:
                (self.directory / tracks_path).unlink(missing_ok=True)
            raise
        record = record_of(row)
        if self.bus is not None:  # stored, file and row: it can be fetched now
            self.bus.publish(RECORDING_READY, tenant_id, RecordingReady(
                recording_id=record.id, call_id=record.call_id, kind=record.kind.value,
                queue=record.queue, agent_user_id=record.agent_user_id,
                started_at=record.started_at, duration_seconds=record.duration_seconds,
                size_bytes=record.size_bytes, format=record.format,
                mailbox_kind=record.mailbox_kind, mailbox=record.mailbox))
        return record

    async def get(self, recording_id: str) -> RecordingRecord | None:
        async with self.db.session() as session:
            row = await session.get(Recording, recording_id)
            return record_of(row) if row is not None else None

    async def for_call(self, call_id: str) -> list[RecordingRecord]:
        """Every recording of a call, oldest first."""
        statement = (
            select(Recording).where(Recording.call_id == call_id).order_by(Recording.started_at)
        )
        async with self.db.session() as session:
            return [record_of(row) for row in await session.scalars(statement)]

    async def voicemails(
        self, tenant_id: int, mailbox_kind: str | None = None, mailbox: str | None = None
    ) -> list[RecordingRecord]:
        """Voicemails of a mailbox (both None: the general mailbox), newest first."""
        statement = select(Recording).where(
            Recording.tenant_id == tenant_id,
            Recording.kind == RecordingKind.VOICEMAIL,
            Recording.mailbox_kind.is_(None)
            if mailbox_kind is None
            else Recording.mailbox_kind == mailbox_kind,
            Recording.mailbox.is_(None) if mailbox is None else Recording.mailbox == mailbox,
        )
        async with self.db.session() as session:
            rows = await session.scalars(statement.order_by(Recording.started_at.desc()))
            return [record_of(row) for row in rows]
