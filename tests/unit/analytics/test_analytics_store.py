"""The transcription worker over a real database (SQLite and PostgreSQL): recordings with
per-speaker tracks are transcribed in the worker's own process, their insights stored; search
finds a tenant's lines and never another's; a recording deleted takes its transcript along."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from polling import eventually
from speech_clips import RATE, silence, telephone_speech, wav_bytes
from sqlalchemy import delete

from pbx_stasis.analytics.rules import AnalyticsRulesFields
from pbx_stasis.analytics.store import DONE, NO_ENGINE, AnalyticsStore
from pbx_stasis.analytics.worker import TranscriptionWorker, decoder_pool
from pbx_stasis.recording import RecordingKind, RecordingRecord, RecordingStore
from pbx_stasis.recording.tables import Recording
from pbx_stasis.store import CallJournal, Database, Directory, utc_now
from pbx_stasis.store.tables import Call, CallStatus, Direction

AGENT_SAYS = "good morning how can I help you"
CUSTOMER_SAYS = "we would like to buy it"
RULES = {"categories": [{"name": "buying", "phrases": ["buy", "purchase"],
                         "speaker": "customer"},
                        {"name": "churn", "phrases": ["cancel"]}],
         "lead": {"category_points": {"buying": 40}, "positive_points": 20, "threshold": 50}}


@dataclass
class Scene:
    db: Database
    recordings: RecordingStore
    worker: TranscriptionWorker
    store: AnalyticsStore
    acme: int
    globex: int


@pytest_asyncio.fixture
async def scene(db: Database, tmp_path: Path) -> AsyncIterator[Scene]:
    directory = Directory(db)
    acme, globex = (await directory.ensure_tenant("acme")).id, (
        await directory.ensure_tenant("globex")).id
    worker = TranscriptionWorker(db, tmp_path, {}, pool=decoder_pool(idle=False))
    try:
        yield Scene(db, RecordingStore(db, tmp_path), worker, worker.store, acme, globex)
    finally:
        worker.pool.shutdown()


async def _recorded(scene: Scene, tenant_id: int, call_id: str, audio: bytes, *,
                    kind: RecordingKind = RecordingKind.CALL) -> RecordingRecord:
    now = utc_now()
    async with scene.db.transaction() as tx:
        tx.add(Call(id=call_id, tenant_id=tenant_id, channel_id=f"c-{call_id}",
                    direction=Direction.INBOUND, from_number="+14155550100",
                    to_number="+18005550199", started_at=now, status=CallStatus.ENDED))
    stereo = kind is RecordingKind.CALL
    return await scene.recordings.keep(
        audio if not stereo else wav_bytes(silence(1.0)), name=f"n-{call_id}", fmt="wav",
        tenant_id=tenant_id, call_id=call_id, kind=kind, started_at=now,
        tracks=audio if stereo else None)


def _conversation() -> bytes:
    agent = silence(0.3) + telephone_speech(AGENT_SAYS)
    customer = silence(len(agent) / RATE + 0.4) + telephone_speech(CUSTOMER_SAYS)
    return wav_bytes(agent, customer)


async def test_a_call_is_transcribed_per_speaker_scored_and_searchable_in_its_tenant_only(
        scene: Scene) -> None:
    await scene.store.set_rules(scene.acme, AnalyticsRulesFields.model_validate(RULES))
    ours = await _recorded(scene, scene.acme, "a" * 32, _conversation())
    theirs = await _recorded(scene, scene.globex, "b" * 32, _conversation())
    assert {r.id for r in await scene.store.pending(10)} == {ours.id, theirs.id}

    assert await scene.worker.run_pending() == 2
    assert await scene.store.pending(10) == []
    transcript = await scene.store.transcript(scene.acme, ours.id)
    assert transcript is not None and transcript.status == DONE
    assert transcript.engine == "pocketsphinx" and transcript.audio_seconds > 3
    said = {side: " ".join(line.text for line in transcript.lines if line.speaker == side)
            for side in ("agent", "customer")}
    assert "morning" in said["agent"] and "buy" in said["customer"], said

    insights = await scene.store.insights(scene.acme, ours.id)
    assert insights is not None
    assert insights["talk"]["agent"] > 1.0 and insights["talk"]["customer"] > 0.5
    assert [c["category"] for c in insights["categories"]] == ["buying"]
    assert insights["lead"]["hot"] is True
    [lead] = await scene.store.hot_leads(scene.acme)
    assert (lead.recording_id, lead.from_number) == (ours.id, "+14155550100")
    # globex has no rules: the same words make no lead there
    assert await scene.store.hot_leads(scene.globex) == []

    [found] = await scene.store.search(scene.acme, "Buy!")
    assert (found.recording_id, found.speaker) == (ours.id, "customer")
    assert [f.recording_id for f in await scene.store.search(scene.globex, "buy")] == [theirs.id]
    assert await scene.store.search(scene.acme, '" OR text MATCH *') == []  # words only
    # another tenant's recording reads as nothing at all
    assert await scene.store.transcript(scene.globex, ours.id) is None
    assert await scene.store.insights(scene.globex, ours.id) is None

    # retention deletes the recording's row: its transcript, lines and insights go with it
    async with scene.db.transaction() as tx:
        await tx.execute(delete(Recording).where(Recording.id == ours.id))
    assert await scene.store.transcript(scene.acme, ours.id) is None
    assert await scene.store.search(scene.acme, "buy") == []
    assert await scene.store.hot_leads(scene.acme) == []


async def test_a_language_without_an_engine_is_said_plainly_and_voicemail_is_one_speaker(
        scene: Scene) -> None:
    arabic = await _recorded(scene, scene.acme, "c" * 32, _conversation())
    await CallJournal(scene.db).append(scene.db, tenant_id=scene.acme, call_id="c" * 32,
                                       event="ivr.language", data={"language": "ar"})
    message = await _recorded(scene, scene.acme, "d" * 32,
                              wav_bytes(telephone_speech("can you call me tomorrow")),
                              kind=RecordingKind.VOICEMAIL)
    await scene.worker.run_pending()
    refused = await scene.store.transcript(scene.acme, arabic.id)
    assert refused is not None and refused.status == NO_ENGINE and refused.lines == []
    assert refused.error is not None and "language 'ar'" in refused.error
    voicemail = await scene.store.transcript(scene.acme, message.id)
    assert voicemail is not None and voicemail.status == DONE
    assert {line.speaker for line in voicemail.lines} == {"customer"}
    assert "tomorrow" in voicemail.lines[0].text
    assert await scene.store.insights(scene.acme, message.id) is None  # not a conversation


async def test_the_running_worker_picks_up_new_recordings_by_itself(scene: Scene) -> None:
    running = asyncio.create_task(scene.worker.run(every=0.1))
    try:
        message = await _recorded(scene, scene.acme, "e" * 32,
                                  wav_bytes(telephone_speech("can you call me tomorrow")),
                                  kind=RecordingKind.VOICEMAIL)
        done = await eventually(lambda: scene.store.transcript(scene.acme, message.id),
                                within=60, every=0.2)
        assert done.status == DONE and "tomorrow" in done.lines[0].text
        assert scene.worker.queue.empty() and not scene.worker._queued
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_recording_queued_again_after_its_transcript_is_not_transcribed_twice(
        scene: Scene) -> None:
    """A scan reads the pending recordings, the one being transcribed among them; it is saved
    and leaves the queue before the scan queues what it read: it comes round a second time."""
    message = await _recorded(scene, scene.acme, "f" * 32,
                              wav_bytes(telephone_speech("can you call me tomorrow")),
                              kind=RecordingKind.VOICEMAIL)
    [pending] = await scene.store.pending(10)
    await scene.worker.transcribe(pending)
    await scene.worker.transcribe(pending)  # once raised: UNIQUE constraint on recording_id
    done = await scene.store.transcript(scene.acme, message.id)
    assert done is not None and done.status == DONE and len(done.lines) == 1
    assert await scene.store.pending(10) == []
