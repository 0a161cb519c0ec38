"""Recording conversations: the call's bridge recorded through ARI, per the queue's policy.

The recorder is a talk watcher of the ACD (`AcdService.talk_watchers`): when an agent is
connected it asks the queue's policy whether to record (all, a random sample, or only when the
agent asks), and records the call's mixing bridge (caller, agent, and a barging supervisor).
When the call leaves the ACD the recording is stopped, downloaded from Asterisk into the
recordings directory and filed with its row (RecordingStore).

Pause is ARI's *mute* of the live recording, not its *pause*: measured on Asterisk 22, a paused
recording simply leaves the paused time out of the file (a 9.4 s call with 1 s paused gave an
8.4 s file), while a muted one writes silence in its place, so the file keeps the call's timing
and the pause shows as silence, as agreed with the people recorded.

Per speaker: beside the bridge's mixed recording (the one people play), each leg gets a snoop
channel that hears only what that party says (`spy=in`), recorded on its own; at the end the two
tracks become one stereo WAV (agent left, customer right: recording/tracks.py) kept with the row
for analysis. After a transfer the new agent's leg gets a snoop of its own, recorded from then on
and placed on the agent's channel at that time. Every track is journaled (RECORDTRACK: its
recording, snoop, leg and time in the tracks), so that after an app restart the recording and
its tracks, which go on in Asterisk meanwhile, are taken up again from the journal
(recording/carry.py): by the talk the ACD serves again (pause, a transfer's new track, filed at
its end), else filed when the adopted call ends.
Two snoops rather than a stereo mix of the bridge: ARI's bridge recording has no
per-channel option, and a snoop's `in` is exactly one party's voice (measured: no bleed of the
other side, tests/integration/test_analytics_live.py). A failed track never fails the call's
recording: the mixed file is kept without tracks and a RECORDFAILED line says why.

Journal lines: RECORDSTART, RECORDTRACK, RECORDPAUSE, RECORDRESUME, RECORDSTOP (with the
recording id, duration, size), RECORDFAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient, AriError, AriUnreachable
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.recording.carry import (
    RECORDFAILED,
    RECORDPAUSE,
    RECORDRESUME,
    RECORDSTART,
    RECORDSTOP,
    RECORDTRACK,
    JournaledTrack,
    OpenRecording,
    new_agent_track,
    open_recordings,
)
from pbx_stasis.recording.policy import RecordingPolicy
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.service import LiveRecordingView, RecordingError, RecordingState
from pbx_stasis.recording.store import RecordingRecord, RecordingStore
from pbx_stasis.recording.tables import RecordingKind
from pbx_stasis.recording.tracks import AGENT, CUSTOMER, Segment, stereo_segments
from pbx_stasis.store import Database, NewEvent, StoreUnavailable, utc_now
from pbx_stasis.store.journal import CallJournal
from pbx_stasis.web.contract import ServiceErrorCode

log = logging.getLogger(__name__)

FORMAT = "wav"
TRACK_ARG = "recording"  # the Stasis argument of a track's snoop channel
PREFIX = "pbx-call-"  # a call's recordings, and the snoop channels of its tracks


def is_track(channel_id: str) -> bool:
    """A snoop channel of a per-speaker track (its id is its recording's name)."""
    return channel_id.startswith(PREFIX)


@dataclass
class _Track:
    """One party's voice: a snoop channel on their leg and its live recording."""

    speaker: str
    snoop_id: str
    name: str
    leg: str = ""  # the channel snooped on
    started_mono: float = 0.0
    claimed: bool = True  # its snoop's events come to us (not: carried over a restart)


@dataclass
class _Live:
    talk: Talk
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    policy: RecordingPolicy = field(default_factory=RecordingPolicy)
    name: str | None = None  # the live recording in Asterisk
    started_at: datetime | None = None
    started_mono: float = 0.0
    paused_mono: float | None = None
    paused_total: float = 0.0
    segments: int = 0
    ended: bool = False
    kept: list[RecordingRecord] = field(default_factory=list)
    tracks: list[_Track] = field(default_factory=list)
    tracks_zero: float = 0.0  # when the first tracks started (time 0 of the tracks file)
    tracks_zero_at: datetime | None = None  # the same, on the wall clock (journaled)
    adopted: bool = False  # a recording carried over an app restart (RECORDSTOP says so)

    @property
    def state(self) -> RecordingState:
        if self.name is None:
            return RecordingState.OFF
        return RecordingState.PAUSED if self.paused_mono is not None else RecordingState.RECORDING

    def view(self) -> LiveRecordingView:
        now = time.monotonic()
        paused = self.paused_total + (now - self.paused_mono if self.paused_mono else 0.0)
        return LiveRecordingView(
            call_id=self.talk.call_id,
            state=self.state,
            policy=self.policy.mode.value,
            agent_may_start=self.policy.agent_may_start and self.name is None,
            recorded_seconds=round(now - self.started_mono, 1) if self.name else 0.0,
            paused_seconds=round(paused, 1) if self.name else 0.0,
        )


class CallRecorder:
    """Records connected calls per their queue's policy (a `TalkWatcher`); implements
    RecordingControl (service.py)."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        store: RecordingStore,
        *,
        policies: RecordingPolicies | None = None,
        draw: Callable[[], float] = random.random,
        settle: float = 10.0,
        router: CallRouter | None = None,
        app: str | None = None,
    ) -> None:
        self.ari = ari
        # The snoops of per-speaker tracks enter this Stasis app, claimed in this router; without
        # them (tests of the policy alone) only the mixed recording is made.
        self.router = router
        self.app = app
        self.db = db
        self.store = store
        self.policies = policies or RecordingPolicies(db)
        self.draw = draw
        self.settle = settle  # seconds to wait for Asterisk to finish writing a stopped file
        self._live: dict[str, _Live] = {}
        self._carried: set[str] = set()  # adopted recordings a _Live goes on with (and files)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- talk watcher ---------------------------------------------------------------------

    def talk_started(self, talk: Talk) -> None:
        live = self._live.get(talk.call_id)
        if live is not None:
            # Another agent in the same bridge (a transfer): the recording of the bridge goes
            # on, decided once for the whole call; the row will name the last agent. Their
            # leg gets an agent track of its own from now on.
            new_leg = talk.agent_channel_id != live.talk.agent_channel_id
            live.talk = talk
            if new_leg:
                self._spawn(self._next_agent_track(live))
            return
        live = _Live(talk)
        self._live[talk.call_id] = live
        # A talk carried over a restart goes on with the recording it had, if any; it is not
        # decided again.
        if talk.carried:
            self._spawn(self._carry(live))
            return
        known = self.policies.known(talk.tenant_id, talk.queue)
        if known is None:
            self._spawn(self._begin(live))
            return
        # Decided at once (the policy read a moment ago): most calls of a queue that records
        # nothing cost no task at all.
        live.policy = known
        if known.records_at_connect(self.draw()):
            self._spawn(self._begin(live, decided=True))

    def talk_ended(self, talk: Talk) -> None:
        live = self._live.pop(talk.call_id, None)
        if live is None:
            return
        if live.name is None and not live.lock.locked():
            live.ended = True  # nothing recorded nor starting: nothing to stop or file
            return
        self._spawn(self._finish(live))

    async def drain(self) -> None:
        """Until every pending start and stop is done and journaled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.db.writes.settle()

    async def file_adopted(self, tenant_id: int, call_id: str, bridge_ids: list[str]) -> None:
        """A conversation adopted after an app restart has ended: its bridge goes (which ends
        a recording still running in it), and every recording the journal shows started but
        not stopped is stopped and filed like any other (RECORDSTOP with `adopted`), with its
        per-speaker tracks: each snoop the journal shows (RECORDTRACK) went on recording while
        the app was away (adoption leaves them be) and is stopped and joined now. A recording
        the ACD's talk went on with (`_carry`) is left to that talk's end, which files it."""
        for bridge_id in bridge_ids:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)
        await self.db.writes.settle()
        entries = await CallJournal(self.db).events_for_call(call_id)
        for recording in open_recordings(entries):
            name = recording.name
            if name in self._carried:  # the ACD served the call again: its talk's end files it
                self._carried.discard(name)
                continue
            note = NewEvent(tenant_id=tenant_id, call_id=call_id, event=RECORDSTOP,
                            agent_user_id=recording.agent_user_id, queue=recording.queue,
                            at=utc_now(), data={})
            try:
                with contextlib.suppress(AriError):  # 404: it ended with the bridge
                    await self.ari.recordings.stop(name)
                joined = await self._adopted_tracks(name, recording.tracks, note)
                await self._settled(name)
                kept = await self.store.keep_from_asterisk(
                    self.ari, name, FORMAT, tenant_id=tenant_id, call_id=call_id,
                    kind=RecordingKind.CALL, started_at=recording.started_at,
                    queue=recording.queue, agent_user_id=recording.agent_user_id, tracks=joined,
                )
            except Exception as exc:
                log.exception("call %s: recording %s could not be kept", call_id, name)
                self.db.writes.append([replace(note, event=RECORDFAILED, data={
                    "recording": name, "error": str(exc), "adopted": True})])
                continue
            self.db.writes.append([replace(note, data={
                "recording": kept.id, "name": name, "duration": kept.duration_seconds,
                "size": kept.size_bytes, "format": kept.format, "adopted": True})])

    async def _adopted_tracks(self, name: str, tracks: list[JournaledTrack], note: NewEvent
                              ) -> bytes | None:
        """The journaled tracks of an adopted call's recording, stopped and joined; None when
        it had none or they could not be had (RECORDFAILED; the mixed file is kept)."""
        if not tracks:
            return None
        try:
            for track in tracks:
                with contextlib.suppress(AriError):  # 404: it ended with its leg
                    await self.ari.recordings.stop(track.name)
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(track.snoop)
            return await self._joined([(track.speaker, track.name, track.offset)
                                       for track in tracks])
        except Exception as exc:
            log.warning("call %s: adopted per-speaker tracks not kept: %s", note.call_id, exc)
            self.db.writes.append([replace(note, event=RECORDFAILED, data={
                "recording": name, "tracks": True, "adopted": True,
                "error": str(exc) or type(exc).__name__})])
            return None

    # --- agent / supervisor requests ------------------------------------------------------

    async def state(self, tenant_id: int, call_id: str) -> LiveRecordingView:
        return self._of(tenant_id, call_id).view()

    async def talk(self, tenant_id: int, call_id: str) -> Talk:
        """The connected call (to check who may act on it); not-found otherwise."""
        return self._of(tenant_id, call_id).talk

    async def start(self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
                    ) -> LiveRecordingView:
        """Start recording now (on-demand queues only); a no-op when it already records."""
        live = self._of(tenant_id, call_id)
        async with live.lock:
            if live.ended:
                raise RecordingError(ServiceErrorCode.NOT_FOUND, "the call has ended")
            if live.name is None:
                if not live.policy.agent_may_start:
                    raise RecordingError(
                        ServiceErrorCode.CONFLICT,
                        f"this queue's recording policy is {live.policy.mode.value}"
                    )
                await self._record(live, reason="agent", by_user_id=by_user_id)
            return live.view()

    async def pause(self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
                    ) -> LiveRecordingView:
        """From now on the file gets silence instead of the conversation."""
        live = self._of(tenant_id, call_id)
        async with live.lock:
            if live.name is None or live.ended:
                raise RecordingError(ServiceErrorCode.CONFLICT, "the call is not being recorded")
            if live.paused_mono is None:
                await self._ari(self.ari.recordings.mute(live.name))
                for track in live.tracks:
                    with contextlib.suppress(AriError):
                        await self.ari.recordings.mute(track.name)
                live.paused_mono = time.monotonic()
                await self._note(live, RECORDPAUSE, {"recording": live.name,
                                                     "by_user_id": by_user_id})
            return live.view()

    async def resume(self, tenant_id: int, call_id: str, *, by_user_id: int | None = None
                     ) -> LiveRecordingView:
        live = self._of(tenant_id, call_id)
        async with live.lock:
            if live.name is None or live.ended:
                raise RecordingError(ServiceErrorCode.CONFLICT, "the call is not being recorded")
            if live.paused_mono is not None:
                await self._ari(self.ari.recordings.unmute(live.name))
                for track in live.tracks:
                    with contextlib.suppress(AriError):
                        await self.ari.recordings.unmute(track.name)
                paused = time.monotonic() - live.paused_mono
                live.paused_total += paused
                live.paused_mono = None
                await self._note(live, RECORDRESUME, {"recording": live.name,
                                                      "paused": round(paused, 3),
                                                      "by_user_id": by_user_id})
            return live.view()

    def _of(self, tenant_id: int, call_id: str) -> _Live:
        live = self._live.get(call_id)
        if live is None or live.talk.tenant_id != tenant_id:
            raise RecordingError(ServiceErrorCode.NOT_FOUND, "no such call connected to an agent")
        return live

    # --- the life of a recording ----------------------------------------------------------

    async def _begin(self, live: _Live, *, decided: bool = False) -> None:
        """Start the recording of a talk the policy records (`decided`: it said so already)."""
        async with live.lock:
            talk = live.talk
            try:
                if not decided:
                    live.policy = await self.policies.policy(talk.tenant_id, talk.queue)
                    if not live.policy.records_at_connect(self.draw()):
                        return
                if live.ended:
                    return
                await self._record(live, reason=live.policy.mode.value)
            except StoreUnavailable as exc:
                log.warning("call %s: not recorded, %s", talk.call_id, exc)
                await self._note(live, RECORDFAILED, {"error": str(exc)})
            except Exception as exc:
                log.exception("call %s: recording did not start", talk.call_id)
                with contextlib.suppress(Exception):
                    await self._note(live, RECORDFAILED, {"error": str(exc)})

    async def _carry(self, live: _Live) -> None:
        """A talk carried over an app restart that the ACD serves again: its recording, still
        going on in Asterisk with its tracks (the journal says which), is this talk's again:
        paused and resumed, given the next agent's track after a transfer, and filed when the
        talk ends, as if the app had not restarted."""
        async with live.lock:
            talk = live.talk
            try:
                live.policy = await self.policies.policy(talk.tenant_id, talk.queue)
                await self.db.writes.settle()
                recordings = open_recordings(
                    await CallJournal(self.db).events_for_call(talk.call_id))
            except Exception as exc:
                log.warning("call %s: its recording not carried over: %s", talk.call_id, exc)
                return  # file_adopted files it when the call ends, as without the ACD
            if live.ended or not recordings:
                return
            self._take(live, recordings[-1])

    def _take(self, live: _Live, recording: OpenRecording) -> None:
        now, wall = time.monotonic(), utc_now()

        def mono(at: datetime) -> float:
            return now - (wall - at).total_seconds()

        live.adopted = True
        live.name = recording.name
        live.segments = recording.segment
        live.started_at, live.started_mono = recording.started_at, mono(recording.started_at)
        live.paused_total = recording.paused_total
        live.paused_mono = (mono(recording.paused_since) if recording.paused_since is not None
                            else None)
        if recording.tracks_zero is not None:
            live.tracks_zero_at = recording.tracks_zero
            live.tracks_zero = mono(recording.tracks_zero)
            live.tracks = [_Track(track.speaker, track.snoop, track.name, track.leg,
                                  live.tracks_zero + track.offset, claimed=False)
                           for track in recording.tracks]
        self._carried.add(recording.name)

    async def _record(self, live: _Live, *, reason: str, by_user_id: int | None = None) -> None:
        talk = live.talk
        live.segments += 1
        name = f"{PREFIX}{talk.call_id}-{live.segments}"
        await self._ari(
            self.ari.bridges.record(
                talk.bridge_id, name, FORMAT, if_exists="overwrite", beep=False,
                terminate_on="none",
            )
        )
        live.name = name
        live.started_at = utc_now()
        live.started_mono = time.monotonic()
        live.paused_mono, live.paused_total = None, 0.0
        await self._note(live, RECORDSTART, {"recording": name, "reason": reason,
                                             "by_user_id": by_user_id})
        await self._record_tracks(live, name)

    async def _record_tracks(self, live: _Live, name: str) -> None:
        """Each party's voice recorded apart (both at once, so they start together)."""
        if self.router is None or self.app is None:
            return
        talk = live.talk
        tracks = [_Track(AGENT, f"{name}-{AGENT}", f"{name}-{AGENT}"),
                  _Track(CUSTOMER, f"{name}-{CUSTOMER}", f"{name}-{CUSTOMER}")]
        legs = {AGENT: talk.agent_channel_id, CUSTOMER: talk.caller_channel_id}
        try:
            await asyncio.gather(*(self._record_track(track, legs[track.speaker])
                                   for track in tracks))
        except Exception as exc:
            log.warning("call %s: per-speaker tracks not recorded: %s", talk.call_id, exc)
            await self._drop_tracks(tracks)
            await self._note(live, RECORDFAILED, {"recording": name, "tracks": True,
                                                  "error": str(exc) or type(exc).__name__})
            return
        live.tracks = tracks
        live.tracks_zero = min(track.started_mono for track in tracks)
        live.tracks_zero_at = utc_now() - timedelta(seconds=time.monotonic() - live.tracks_zero)
        for track in tracks:
            await self._note_track(live, name, track)

    async def _next_agent_track(self, live: _Live) -> None:
        """A transfer brought another agent's leg into the call: record what they say, on the
        agent's channel from now on (the earlier agent's track ended with their leg)."""
        async with live.lock:
            name, talk = live.name, live.talk
            if live.ended or name is None:
                return  # not recorded
            added = new_agent_track(name, [(track.speaker, track.leg) for track in live.tracks],
                                    talk.agent_channel_id)
            if added is None:
                return  # no tracks to add to, or they began on this leg already
            track = _Track(AGENT, added, added)
            try:
                await self._record_track(track, talk.agent_channel_id)
                if live.paused_mono is not None:
                    await self.ari.recordings.mute(track.name)
            except Exception as exc:
                log.warning("call %s: the new agent's track not recorded: %s", talk.call_id,
                            exc)
                await self._drop_tracks([track])
                await self._note(live, RECORDFAILED, {"recording": name, "tracks": True,
                                                      "error": str(exc) or type(exc).__name__})
                return
            live.tracks.append(track)
            await self._note_track(live, name, track)

    async def _note_track(self, live: _Live, name: str, track: _Track) -> None:
        zero = live.tracks_zero_at
        await self._note(live, RECORDTRACK, {
            "recording": name, "track": track.name, "snoop": track.snoop_id,
            "speaker": track.speaker, "leg": track.leg,
            "offset": round(track.started_mono - live.tracks_zero, 3),
            "zero": zero.isoformat() if zero is not None else None})

    async def _record_track(self, track: _Track, leg: str) -> None:
        assert self.router is not None and self.app is not None
        track.leg = leg
        inbox = self.router.claim(track.snoop_id)
        await self.ari.channels.snoop(leg, self.app, spy="in", app_args=[TRACK_ARG],
                                      snoop_id=track.snoop_id)
        await inbox.wait_for({"StasisStart"}, within=5)
        await self.ari.channels.record(track.snoop_id, track.name, FORMAT,
                                       if_exists="overwrite", beep=False, terminate_on="none")
        track.started_mono = time.monotonic()

    async def _drop_tracks(self, tracks: list[_Track]) -> None:
        for track in tracks:
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(track.snoop_id)
            if self.router is not None and track.claimed:
                # (a carried track's snoop is adoption's task: its hangup ends it)
                self.router.release(track.snoop_id)

    async def _stop_tracks(self, live: _Live, name: str) -> bytes | None:
        """Stop the tracks, fetch them from Asterisk and put them side by side (stereo WAV);
        None when there are none or they could not be had (the mixed file is kept anyway)."""
        tracks, live.tracks = live.tracks, []
        if not tracks:
            return None
        try:
            for track in tracks:
                with contextlib.suppress(AriError):  # 404: it ended with its leg
                    await self.ari.recordings.stop(track.name)
            return await self._joined(
                [(track.speaker, track.name, track.started_mono - live.tracks_zero)
                 for track in tracks])
        except Exception as exc:
            log.warning("call %s: per-speaker tracks not kept: %s", live.talk.call_id, exc)
            await self._note(live, RECORDFAILED, {"recording": name, "tracks": True,
                                                  "error": str(exc) or type(exc).__name__})
            return None
        finally:
            await self._drop_tracks(tracks)

    async def _joined(self, tracks: list[tuple[str, str, float]]) -> bytes:
        """Stopped tracks (speaker, recording name, offset in seconds) fetched from Asterisk
        and put side by side; each is deleted from Asterisk once fetched."""
        sides: dict[str, list[Segment]] = {AGENT: [], CUSTOMER: []}
        for speaker, name, offset in tracks:
            await self._settled(name)
            sides[speaker].append((offset, await self.ari.recordings.stored_file(name)))
            with contextlib.suppress(AriError):
                await self.ari.recordings.delete_stored(name)
        return await asyncio.to_thread(stereo_segments, sides[AGENT], sides[CUSTOMER])

    async def _finish(self, live: _Live) -> None:
        async with live.lock:
            live.ended = True
            if live.name is None:
                return
            name, started_at = live.name, live.started_at
            assert started_at is not None
            paused = live.paused_total + (
                time.monotonic() - live.paused_mono if live.paused_mono is not None else 0.0
            )
            live.name = None
            talk = live.talk
            try:
                with contextlib.suppress(AriError):  # 404: it ended with the bridge already
                    await self.ari.recordings.stop(name)
                tracks = await self._stop_tracks(live, name)
                await self._settled(name)
                kept = await self.store.keep_from_asterisk(
                    self.ari, name, FORMAT,
                    tenant_id=talk.tenant_id, call_id=talk.call_id, kind=RecordingKind.CALL,
                    started_at=started_at, queue=talk.queue, agent_user_id=talk.agent_user_id,
                    tracks=tracks,
                )
            except Exception as exc:
                log.exception("call %s: recording %s could not be kept", talk.call_id, name)
                with contextlib.suppress(Exception):
                    await self._note(live, RECORDFAILED, {"recording": name, "error": str(exc)})
                return
            live.kept.append(kept)
            await self._note(live, RECORDSTOP, {
                "recording": kept.id, "name": name, "duration": kept.duration_seconds,
                "paused": round(paused, 3), "size": kept.size_bytes, "format": kept.format,
                "adopted": True if live.adopted else None,
            })

    async def _settled(self, name: str) -> None:
        """Until Asterisk has finished writing the file: the live recording is gone once its
        thread closed the file. Its state says "done" from the stop request on, before that
        thread has stopped (res_stasis_recording's `recording_stop`), and a WAV file read then
        still has the header it was opened with: no audio (a kept recording of 0.00 s).
        "failed" and "canceled" leave nothing to wait for. A recording still "done" at the
        deadline is taken as it is."""
        deadline = time.monotonic() + self.settle
        state = None
        while time.monotonic() < deadline:
            try:
                live = await self.ari.recordings.get_live(name)
            except AriError as exc:
                if exc.status == 404:
                    return
                raise
            state = live.get("state")
            if state in ("failed", "canceled"):
                return
            await asyncio.sleep(0.05)
        if state == "done":
            log.warning("recording %s still listed as live %.0f s after its stop: kept as it "
                        "is", name, self.settle)
            return
        raise TimeoutError(f"recording {name} still live {self.settle:.0f} s after its stop")

    async def _note(self, live: _Live, event: str, data: dict[str, Any]) -> None:
        talk = live.talk
        self.db.writes.append([NewEvent(
            tenant_id=talk.tenant_id, call_id=talk.call_id, event=event,
            agent_user_id=talk.agent_user_id, queue=talk.queue, at=utc_now(),
            data={key: value for key, value in data.items() if value is not None},
        )])

    @staticmethod
    async def _ari(request: Coroutine[Any, Any, object]) -> None:
        try:
            await request
        except AriUnreachable as exc:
            raise RecordingError(ServiceErrorCode.UNAVAILABLE, "Asterisk is not reachable") from exc
        except AriError as exc:
            raise RecordingError(ServiceErrorCode.CONFLICT, f"Asterisk refused: {exc}") from exc

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
