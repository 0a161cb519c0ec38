"""Call recording on a real Asterisk with real audio: policy, pause as silence, file, retention.

The caller's and the agent's phones send tones (600 Hz, 1000 Hz); the recorded WAV file is
read back and measured: it lasts the talk time, the conversation is in it, and the paused
stretch is silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import struct
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from callcenter import CallCenter, call_center, enqueue_into
from polling import eventually
from sandbox import Sandbox, run_sipp_async
from test_supervision_audio import RtpPhone, tone_db

from pbx_stasis.acd.runner import QUEUE_BRIDGE
from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.recording import PolicyMode, RecordingPolicy, RecordingRules, RecordingStore
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.recorder import CallRecorder, RecordingError, RecordingState
from pbx_stasis.recording.retention import purge_expired
from pbx_stasis.store import JournalEntry

pytestmark = pytest.mark.integration

CALLER_HZ, AGENT_HZ = 600, 1000
PRESENT, ABSENT = -20.0, -40.0


@dataclass
class Recorded:
    center: CallCenter
    recorder: CallRecorder
    store: RecordingStore
    call: asyncio.Task[Any]
    call_id: str = ""


@contextlib.asynccontextmanager
async def recorded_call(
    sandbox: Sandbox, workdir: Path, index: int, policy: RecordingPolicy, talk_ms: int
) -> AsyncIterator[Recorded]:
    caller, agent = RtpPhone("caller", CALLER_HZ), RtpPhone("agent", AGENT_HZ)
    async with call_center(sandbox, workdir, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        # The app's own recorder, writing under this test's folder.
        store = await center.record("sales", policy)
        recorder = center.app.recorder
        await center.add_agent("rita", index, scenario="desk-phone-tone.xml",
                               keys={"rtp_port": str(agent.port)})
        call = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", sandbox.sip_target, caller="+15550200",
            keys={"talk_ms": str(talk_ms), "rtp_port": str(caller.port)}, timeout=30,
        ))
        scene = Recorded(center, recorder, store, call)
        try:
            [connect] = await center.wait_for("CONNECT")
            assert connect.call_id is not None
            scene.call_id = connect.call_id
            await connected(recorder, center.app.tenant_id, scene.call_id)
            yield scene
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 30)
            await recorder.drain()
            caller.close()
            agent.close()


async def connected(recorder: CallRecorder, tenant_id: int, call_id: str) -> None:
    """Until the recorder has been told the call is connected (its talk started)."""
    await eventually(lambda: recorder.state(tenant_id, call_id), ignoring=(RecordingError,),
                     every=0.02)


def samples_of(data: bytes) -> tuple[list[int], int]:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    return list(struct.unpack(f"<{len(frames) // 2}h", frames)), rate


def at(rows: list[JournalEntry], event: str) -> JournalEntry:
    [row] = [r for r in rows if r.event == event]
    return row


async def test_a_recorded_call_lasts_its_talk_time_and_a_pause_is_silence_then_expires(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with recorded_call(private_sandbox, tmp_path, 520, RecordingPolicy(PolicyMode.ALL),
                             talk_ms=6000) as scene:
        center, recorder, tenant_id = scene.center, scene.recorder, scene.center.app.tenant_id
        # the policy says all: it records from the connect
        await eventually(lambda: recorder.state(tenant_id, scene.call_id),
                         until=lambda state: state.state is RecordingState.RECORDING, every=0.02)
        # The lengths under test: 1.5 s recorded, 1.5 s paused (silence in the file).
        await asyncio.sleep(1.5)
        paused = await recorder.pause(tenant_id, scene.call_id, by_user_id=None)
        assert paused.state is RecordingState.PAUSED
        await asyncio.sleep(1.5)
        resumed = await recorder.resume(tenant_id, scene.call_id)
        assert resumed.state is RecordingState.RECORDING
        result = await scene.call
        assert result.ok, result.describe()
        await center.idle()
        await recorder.drain()

        rows = await center.journal("RECORDSTART", "RECORDPAUSE", "RECORDRESUME", "RECORDSTOP",
                                    "COMPLETECALLER", "RECORDFAILED")
        # (the ACD writes its lines in batches: COMPLETECALLER may land before or after STOP)
        assert [r.event for r in rows if r.event != "COMPLETECALLER"] == [
            "RECORDSTART", "RECORDPAUSE", "RECORDRESUME", "RECORDSTOP"], rows
        [kept] = await scene.store.for_call(scene.call_id)
        assert at(rows, "RECORDSTOP").data["recording"] == kept.id
        assert (kept.kind, kept.queue, kept.format) == ("call", "sales", "wav")
        assert kept.agent_user_id == at(rows, "COMPLETECALLER").agent_user_id is not None
        data = scene.store.path_of(kept).read_bytes()
        assert len(data) == kept.size_bytes and hashlib.sha256(data).hexdigest() == kept.sha256

        samples, rate = samples_of(data)  # playable: a WAV file the standard library reads
        duration = len(samples) / rate
        talk = at(rows, "COMPLETECALLER").data["talk"]
        print(f"\nrecording {duration:.2f} s, talk {talk:.2f} s, "
              f"error {duration - talk:+.2f} s; row says {kept.duration_seconds} s")
        assert abs(duration - talk) < 1.0
        assert abs(kept.duration_seconds - duration) < 0.01

        start = at(rows, "RECORDSTART").at
        pause_from = (at(rows, "RECORDPAUSE").at - start).total_seconds()
        pause_to = (at(rows, "RECORDRESUME").at - start).total_seconds()

        def levels(a: float, b: float) -> dict[int, float]:
            chunk = samples[int(a * rate):int(b * rate)]
            return {hz: round(tone_db(chunk, hz), 1) for hz in (CALLER_HZ, AGENT_HZ)}

        before = levels(0.2, pause_from - 0.2)
        during = levels(pause_from + 0.2, pause_to - 0.2)
        after = levels(pause_to + 0.2, duration - 0.3)
        print(f"levels (dBFS) before / during / after the pause: {before} {during} {after}")
        for hz in (CALLER_HZ, AGENT_HZ):
            assert before[hz] > PRESENT and after[hz] > PRESENT
            assert during[hz] < ABSENT

        # Retention: 30 days for this tenant; not expired at 29 days, deleted at 31.
        policies = RecordingPolicies(center.db)
        await policies.set_rules(tenant_id, RecordingRules(retention_days=30))
        path = scene.store.path_of(kept)
        directory = tmp_path / "recordings"
        early = await purge_expired(center.db, kept.started_at + timedelta(days=29), directory)
        assert early.deleted == [] and path.exists()
        report = await purge_expired(center.db, kept.started_at + timedelta(days=31), directory)
        assert report.deleted == [kept.id] and report.freed_bytes == kept.size_bytes
        assert not path.exists()
        assert await scene.store.get(kept.id) is None
        [purged] = await center.journal("RECORDPURGE")
        assert purged.call_id == scene.call_id and purged.data["recording"] == kept.id
        assert purged.data["retention_days"] == 30
        again = await purge_expired(center.db, kept.started_at + timedelta(days=31), directory)
        assert again.deleted == []


async def test_on_demand_records_from_the_agents_request_and_none_never(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with recorded_call(private_sandbox, tmp_path, 522,
                             RecordingPolicy(PolicyMode.ON_DEMAND), talk_ms=4000) as scene:
        center, recorder, tenant_id = scene.center, scene.recorder, scene.center.app.tenant_id
        await connected(recorder, tenant_id, scene.call_id)
        # on purpose: a second in, on-demand has recorded nothing
        await asyncio.sleep(1.0)
        state = await recorder.state(tenant_id, scene.call_id)
        assert state.state is RecordingState.OFF and state.agent_may_start
        started = await recorder.start(tenant_id, scene.call_id, by_user_id=None)
        assert started.state is RecordingState.RECORDING and not started.agent_may_start
        await scene.call
        await center.idle()
        await recorder.drain()
        rows = await center.journal("CONNECT", "RECORDSTART", "COMPLETECALLER", "RECORDSTOP")
        assert at(rows, "RECORDSTART").data["reason"] == "agent"
        [kept] = await scene.store.for_call(scene.call_id)
        offset = (at(rows, "RECORDSTART").at - at(rows, "CONNECT").at).total_seconds()
        expected = at(rows, "COMPLETECALLER").data["talk"] - offset
        print(f"\non-demand recording {kept.duration_seconds:.2f} s, expected {expected:.2f} s")
        assert abs(kept.duration_seconds - expected) < 1.0

        # A queue whose policy is none records nothing and refuses the agent's request.
        await RecordingPolicies(center.db).set_policy(tenant_id, "sales", RecordingPolicy())
        second = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", private_sandbox.sip_target, caller="+15550201",
            keys={"talk_ms": "2000", "rtp_port": "9"}, timeout=20))
        connects = await center.wait_for("CONNECT", 2)
        call_id = connects[1].call_id or ""
        await connected(recorder, tenant_id, call_id)
        # on purpose: time for a wrong auto-start to show
        await asyncio.sleep(0.3)
        assert (await recorder.state(tenant_id, call_id)).state is RecordingState.OFF
        with pytest.raises(RecordingError) as refused:
            await recorder.start(tenant_id, call_id)
        assert refused.value.code == "conflict"
        assert (await second).ok
        await center.idle()
        await recorder.drain()
        assert await scene.store.for_call(call_id) == []
        assert len(await center.journal("RECORDSTART")) == 1


async def test_a_recording_running_when_the_app_restarts_is_filed_when_the_call_ends(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The restarted app lets the conversation finish (adopted); when it ends, the queue
    bridge goes and the recording the first process started is stopped and filed."""
    async with recorded_call(private_sandbox, tmp_path, 524,
                             RecordingPolicy(PolicyMode.ALL), talk_ms=4000) as scene:
        center = scene.center
        await eventually(lambda: center.journal("RECORDSTART"))
        old = center.app
        await old.stop(grace=0)
        new = StasisApp(old.settings, center.db, Bus(), script=old._default_script)
        new.recorder.store = scene.store
        center.app = new
        await new.start()
        async with asyncio.timeout(15):
            await new.events.wait_connected()
        assert (await scene.call).ok
        await center.idle()
        await eventually(lambda: center.journal("RECORDSTOP"), within=15, every=0.1)
        stop = at(await center.journal(), "RECORDSTOP")
        assert stop.data["adopted"] is True
        [kept] = await scene.store.for_call(scene.call_id)
        print(f"\nrecording across the restart: {kept.duration_seconds:.2f} s of ~4 s talk")
        assert 2.5 < kept.duration_seconds < 6.0
        bridges = await new.ari.bridges.list()
        assert not [b for b in bridges if b["id"].startswith(QUEUE_BRIDGE)]
