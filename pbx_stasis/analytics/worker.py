"""The transcription worker: recordings transcribed off the call path.

A watcher of the Stasis process (plugin.py) finds recordings with no transcript yet (a call's
per-speaker tracks, a voicemail: AnalyticsStore.pending), puts them in a bounded queue, and
transcribes one at a time in a process of its own (spawned, scheduled as SCHED_IDLE: it runs only
on CPU time nothing else wants), so the event
loop and the calls never wait on a decoder and a decoder never holds the app's GIL. A full queue
leaves the rest in the database for a later scan: nothing grows without bound, nothing is lost
across a restart. The insights of a call are computed with its transcript (cheap) and stored
with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from pbx_stasis.analytics.engines import EngineChoice, NoEngine
from pbx_stasis.analytics.events import (
    INSIGHTS_READY,
    TRANSCRIPT_READY,
    InsightsReady,
    TranscriptReady,
)
from pbx_stasis.analytics.insights import insights_of
from pbx_stasis.analytics.metrics import QUEUE_DEPTH, SECONDS, TRANSCRIPTIONS
from pbx_stasis.analytics.store import DONE, FAILED, NO_ENGINE, AnalyticsStore
from pbx_stasis.analytics.transcriber import Transcription, transcribe_file
from pbx_stasis.bus import Bus
from pbx_stasis.recording.store import RecordingRecord
from pbx_stasis.recording.tables import RecordingKind
from pbx_stasis.store import Database

log = logging.getLogger(__name__)

CAPACITY = 64  # recordings queued at once; the rest wait in the database
SCAN_EVERY_S = 2.0


def idle_priority() -> None:
    """The decoder takes only CPU time that Asterisk, the app and the database leave: measured
    with scripts/bench-analytics --routing, a worker at nice 10 still tripled the routing p99
    on a busy 2-core machine."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError):
        os.nice(19)


def decoder_pool(*, idle: bool = True) -> Executor:
    """One worker process (2 cores: one left for Asterisk and the app), spawned rather than
    forked from a process with threads and an event loop. `idle=False` is for tests that check
    what is decoded, not when: at idle priority beside another test's busy processes a decode
    waited minutes."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=idle_priority if idle else None)


def stop_pool(pool: Executor) -> None:
    """Shut the pool down without waiting for a decode in progress: its process is ended (the
    recording stays pending and is transcribed after the next start). Otherwise the app's exit
    waits for it, and a decoder at idle priority on a busy machine outlasts any stop's grace."""
    # ProcessPoolExecutor has no public way to end its workers before Python 3.14
    # (terminate_workers): its private process table is the only handle until then (read
    # before shutdown, which forgets it).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()


class TranscriptionWorker:
    def __init__(self, db: Database, directory: str | Path, engines: dict[str, EngineChoice],
                 *, pool: Executor | None = None, capacity: int = CAPACITY,
                 bus: Bus | None = None) -> None:
        self.store = AnalyticsStore(db)
        self.bus = bus  # transcript:ready and insights:ready once stored (None: stored only)
        self.directory = Path(directory)
        self.engines = engines
        self.pool = pool or decoder_pool()
        self.queue: asyncio.Queue[RecordingRecord] = asyncio.Queue(maxsize=capacity)
        self._queued: set[str] = set()

    async def run(self, every: float = SCAN_EVERY_S) -> None:
        """Scan and transcribe until cancelled."""
        consumer = asyncio.create_task(self._consume(), name="transcription")
        try:
            while True:
                try:
                    await self.scan()
                except Exception:
                    log.exception("transcription: scan failed; retrying in %.0f s", every)
                await asyncio.sleep(every)
        finally:
            consumer.cancel()
            stop_pool(self.pool)

    async def scan(self) -> int:
        """Queue what awaits transcription, as far as the queue has room; how many were added."""
        room = self.queue.maxsize - self.queue.qsize()
        added = 0
        if room <= 0:
            return 0
        for record in await self.store.pending(room + len(self._queued)):
            if record.id in self._queued or self.queue.full():
                continue
            self._queued.add(record.id)
            self.queue.put_nowait(record)
            added += 1
        QUEUE_DEPTH.set(self.queue.qsize())
        return added

    async def _consume(self) -> None:
        while True:
            record = await self.queue.get()
            QUEUE_DEPTH.set(self.queue.qsize())
            try:
                await self.transcribe(record)
            except Exception:
                log.exception("transcription of recording %s failed", record.id)
            finally:
                self._queued.discard(record.id)

    async def run_pending(self) -> int:
        """Transcribe everything awaiting it now, in this task (tests, `pbx analytics run`)."""
        done = 0
        for record in await self.store.pending(1000):
            await self.transcribe(record)
            done += 1
        return done

    async def transcribe(self, record: RecordingRecord) -> None:
        if await self.store.transcribed(record.id):
            # A scan read it as pending just before its transcript was saved, and queued it
            # again once it left the queue.
            return
        started = time.monotonic()
        outcome = await self._transcribe(record)
        TRANSCRIPTIONS.labels(outcome).inc()
        if outcome != "crashed":
            SECONDS.observe(time.monotonic() - started)

    async def _transcribe(self, record: RecordingRecord) -> str:
        """Transcribe and store one recording; its outcome for /metrics."""
        language, outcome = await self.store.call_context(record.call_id)
        path = self.directory / (record.tracks_path or record.path)
        loop = asyncio.get_running_loop()
        try:
            result: Transcription = await loop.run_in_executor(
                self.pool, transcribe_file, str(path), language, self.engines)
        except BrokenProcessPool:
            # The decoder process died (killed, out of memory): not the recording's fault. A
            # new process takes the next one; this one stays pending for the next scan.
            log.error("transcription process died on recording %s; starting another", record.id)
            stop_pool(self.pool)
            self.pool = decoder_pool()
            return "crashed"
        except NoEngine as exc:
            log.warning("recording %s not transcribed: %s", record.id, exc)
            await self.store.save(record, status=NO_ENGINE, language=language, error=str(exc))
            self._ready(record, NO_ENGINE, language, error=str(exc))
            return "no_engine"
        except Exception as exc:
            log.warning("recording %s not transcribed: %s", record.id, exc)
            error = str(exc) or type(exc).__name__
            await self.store.save(record, status=FAILED, language=language, error=error)
            self._ready(record, FAILED, language, error=error)
            return "failed"
        insights = None
        if record.kind is RecordingKind.CALL:
            categories, lead = await self.store.rules(record.tenant_id)
            insights = insights_of(result.speech, result.duration, result.lines, categories,
                                   lead, outcome)
        await self.store.save(
            record, status=DONE, language=language, engine=result.engine,
            audio_seconds=result.duration, took_seconds=result.took, lines=result.lines,
            insights=insights)
        self._ready(record, DONE, language, engine=result.engine, lines=len(result.lines),
                    audio_seconds=result.duration)
        if insights is not None and self.bus is not None:
            self.bus.publish(INSIGHTS_READY, record.tenant_id, InsightsReady.of(
                record.id, record.call_id, record.agent_user_id, record.queue,
                insights.figures(), outcome))
        log.info("recording %s transcribed by %s: %.1f s of audio in %.1f s of CPU",
                 record.id, result.engine, result.duration, result.took)
        return "done"

    def _ready(self, record: RecordingRecord, status: str, language: str, *,
               engine: str | None = None, lines: int = 0, audio_seconds: float = 0.0,
               error: str | None = None) -> None:
        if self.bus is None:
            return
        self.bus.publish(TRANSCRIPT_READY, record.tenant_id, TranscriptReady(
            recording_id=record.id, call_id=record.call_id, kind=record.kind.value,
            status=status, language=language, engine=engine, lines=lines,
            audio_seconds=round(audio_seconds, 3), agent_user_id=record.agent_user_id,
            queue=record.queue, error=error[:500] if error else None))

