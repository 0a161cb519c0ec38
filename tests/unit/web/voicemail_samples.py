"""Samples of the voicemail inbox's routes for the access table: a fresh message (a real WAV file
under the world's recordings directory) in the support queue's mailbox, which every role of its
tenant may read (the agent and the supervisor belong to support; the others read everything)."""

from __future__ import annotations

import io
import itertools
import wave
from pathlib import Path
from typing import Any

from pbx_stasis.recording.store import new_recording_id
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store.base import utc_now
from pbx_stasis.web.app import CONTEXT

_unique = itertools.count(1)


def quiet_wav(seconds: float = 2.0) -> bytes:
    """A WAV file of about `seconds` of near silence whose bytes are also valid UTF-8 (the
    access table reads every answer as text)."""
    frames = int(4096 * seconds)
    while True:
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(4096)  # 0x1000: its header bytes are UTF-8 too
            wav.writeframes(b"\1\1" * frames)
        data = out.getvalue()
        try:
            data.decode()
            return data
        except UnicodeDecodeError:
            frames += 1


async def voicemail(world: Any, tenant: str, *, queue: str = "support") -> str:
    """A new voicemail of `tenant` in `queue`'s mailbox, its file on disk; its id."""
    call_id = f"{next(_unique):08x}".rjust(32, "c")
    await world.add_call(tenant, call_id=call_id, from_number="+14155550100")
    now = utc_now()
    tenant_id = world.tenant_ids[tenant]
    recording_id = new_recording_id()
    relative = f"{tenant_id}/vm/{recording_id}.wav"
    data = quiet_wav()
    target = Path(world.app[CONTEXT].settings.recordings.dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    async with world.db.transaction() as tx:
        tx.add(Recording(
            id=recording_id, tenant_id=tenant_id, call_id=call_id, agent_user_id=None,
            queue=None, kind=RecordingKind.VOICEMAIL, mailbox_kind="queue", mailbox=queue,
            name="pbx-vm-sample", path=relative, tracks_path=None, format="wav",
            started_at=now, duration_seconds=2.0, size_bytes=len(data), sha256="0" * 64,
            created_at=now))
    return recording_id
