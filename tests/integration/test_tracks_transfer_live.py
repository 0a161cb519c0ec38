"""Per-speaker tracks of a transferred call, on a real Asterisk with real audio.

The caller's phone sends 600 Hz, the first agent's 1000 Hz, the second agent's 1400 Hz. After a
blind and after an attended transfer to the second agent, the call's stereo tracks file has the
first agent's tone on the agent's channel (left) before the transfer and the second agent's
after it, at the time the recorder journaled for their track; the customer's channel (right)
has the caller alone throughout. A recorded call the app adopts after a restart keeps both
tracks, recorded on through the restart, in its stereo file.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import wave
from array import array
from datetime import UTC, datetime
from pathlib import Path

import pytest
from callcenter import CallCenter, call_center, enqueue_into
from polling import eventually
from sandbox import Sandbox, run_sipp_async
from test_supervision_audio import RtpPhone, tone_db

from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.recording.service import RecordingError, RecordingState

pytestmark = pytest.mark.integration

CALLER_HZ, FIRST_HZ, SECOND_HZ = 600, 1000, 1400
PRESENT, ABSENT = -20.0, -40.0
FIRST_PART_S = 2.5  # the first agent talks this long before handing the call over


async def transferred(sandbox: Sandbox, workdir: Path, index: int, *, attended: bool
                      ) -> tuple[CallCenter, list[int], list[int], float, float, int]:
    """A recorded call transferred from one agent to another: (the center, the tracks' left
    and right samples, the transfer's time and the second agent's track offset in the file,
    the rate)."""
    caller = RtpPhone("caller", CALLER_HZ)
    first_rtp, second_rtp = RtpPhone("first", FIRST_HZ), RtpPhone("second", SECOND_HZ)
    async with call_center(sandbox, workdir, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        tenant_id = center.app.tenant_id
        store = await center.record()
        recorder = center.app.recorder
        await center.add_agent("first", index, scenario="desk-phone-tone.xml",
                               queues={"sales": 0}, keys={"rtp_port": str(first_rtp.port)})
        second = await center.add_agent("second", index + 1, scenario="desk-phone-tone.xml",
                                        queues={}, keys={"rtp_port": str(second_rtp.port)})
        call = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", sandbox.sip_target, caller="+15550400",
            keys={"talk_ms": "9000", "rtp_port": str(caller.port)}, timeout=30))
        try:
            [connect] = await center.wait_for("CONNECT")
            call_id = str(connect.call_id)
            await eventually(lambda: recorder.state(tenant_id, call_id),
                             ignoring=(RecordingError,),
                             until=lambda state: state.state is RecordingState.RECORDING,
                             every=0.02)
            await eventually(lambda: center.journal("RECORDTRACK"),
                             until=lambda rows: len(rows) == 2, every=0.05)
            await asyncio.sleep(FIRST_PART_S)  # the lengths under test: the first agent's part
            await center.app.acd.transfer(call_id, "agent", second.agent_id, attended=attended)
            if attended:
                consult = center.app.acd.live(call_id).consult
                assert consult is not None
                async with asyncio.timeout(10):
                    await consult.answered.wait()
                await center.app.acd.complete_transfer(call_id)
            result = await call
            assert result.ok, result.describe()
            await center.idle()
            await recorder.drain()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 30)
            for phone in (caller, first_rtp, second_rtp):
                phone.close()

        tracks = await center.journal("RECORDTRACK")
        [kept] = await store.for_call(call_id)
        assert kept.tracks_path is not None, await center.journal("RECORDFAILED")
        with wave.open(io.BytesIO((store.directory / kept.tracks_path).read_bytes())) as wav:
            assert wav.getnchannels() == 2
            rate = wav.getframerate()
            both = array("h", wav.readframes(wav.getnframes()))
        zero = min(row.at for row in tracks)
        [handed] = await center.journal("TRANSFER")
        [added] = [row for row in tracks if row.data["track"].endswith("-agent-2")]
        assert added.data["speaker"] == "agent" and added.agent_user_id == second.user_id
        return (center, list(both[0::2]), list(both[1::2]),
                (handed.at - zero).total_seconds(), float(added.data["offset"]), rate)


def level(samples: list[int], rate: int, start: float, end: float, hz: int) -> float:
    return tone_db(samples[round(start * rate):round(end * rate)], hz)


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_the_second_agent_is_on_the_agent_track_after_a_transfer(
    private_sandbox: Sandbox, tmp_path: Path, attended: bool
) -> None:
    _, left, right, handed, offset, rate = await transferred(
        private_sandbox, tmp_path, 580 if not attended else 582, attended=attended)
    end = len(left) / rate
    print(f"\n{'attended' if attended else 'blind'}: tracks {end:.2f} s, transfer at "
          f"{handed:.2f} s, second agent's track from {offset:.2f} s")
    # Their track starts when they join the conversation: after the transfer was asked for,
    # within the time their phone takes to answer.
    assert handed - 0.5 < offset < handed + 3.0
    assert end - offset > 2.0, "the second agent's part is in the file"
    first = (0.5, handed - 0.5)
    then = (offset + 0.7, end - 0.5)
    for window, present, absent in ((first, FIRST_HZ, SECOND_HZ), (then, SECOND_HZ, FIRST_HZ)):
        heard = level(left, rate, *window, present)
        other = level(left, rate, *window, absent)
        print(f"agent channel {window[0]:.1f}-{window[1]:.1f} s: {present} Hz {heard:.1f} dB, "
              f"{absent} Hz {other:.1f} dB")
        assert heard > PRESENT and other < ABSENT
    # The customer's channel: the caller alone, before and after.
    for window in (first, then):
        assert level(right, rate, *window, CALLER_HZ) > PRESENT
        for hz in (FIRST_HZ, SECOND_HZ):
            assert level(right, rate, *window, hz) < ABSENT


async def test_an_adopted_call_keeps_its_tracks_over_a_restart_and_a_transfer_after_it(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The tracks record on while the app is away; the restarted app's ACD serves the call
    again and its recorder goes on with the same recording, so a blind transfer after the
    restart gives the second agent the agent's channel from then on, as before a restart."""
    caller = RtpPhone("caller", CALLER_HZ)
    first_rtp, second_rtp = RtpPhone("first", FIRST_HZ), RtpPhone("second", SECOND_HZ)
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        tenant_id = center.app.tenant_id
        store = await center.record()
        await center.add_agent("steady", 584, scenario="desk-phone-tone.xml",
                               queues={"sales": 0}, keys={"rtp_port": str(first_rtp.port)})
        second = await center.add_agent("later", 585, scenario="desk-phone-tone.xml",
                                        queues={}, keys={"rtp_port": str(second_rtp.port)})
        call = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", private_sandbox.sip_target, caller="+15550401",
            keys={"talk_ms": "13000", "rtp_port": str(caller.port)}, timeout=40))
        try:
            [connect] = await center.wait_for("CONNECT")
            call_id = str(connect.call_id)
            await eventually(lambda: center.journal("RECORDTRACK"),
                             until=lambda rows: len(rows) == 2, every=0.05)
            await asyncio.sleep(2)  # on purpose: recorded before the restart
            old = center.app
            await old.stop(grace=0)  # the app goes; the call and its recordings go on
            restarted = datetime.now(UTC)
            new = StasisApp(old.settings, center.db, Bus(), script=old._default_script)
            new.recorder.store = store
            center.app = new
            await new.start()
            async with asyncio.timeout(15):
                await new.events.wait_connected()
            # The recorder goes on with the recording it finds in the journal.
            view = await eventually(lambda: new.recorder.state(tenant_id, call_id),
                                    ignoring=(RecordingError,), within=10, every=0.05,
                                    until=lambda v: v.state is RecordingState.RECORDING)
            assert view.recorded_seconds > 2.0, view  # counted from the first process's start
            await asyncio.sleep(2)  # on purpose: the first agent after the restart
            await new.acd.transfer(call_id, "agent", second.agent_id, attended=False)
            result = await call
            assert result.ok, result.describe()
            await center.idle()
            await new.recorder.drain()
            await eventually(lambda: store.for_call(call_id), within=15, every=0.1)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 40)
            for phone in (caller, first_rtp, second_rtp):
                phone.close()

        [kept] = await store.for_call(call_id)
        assert kept.tracks_path is not None, await center.journal("RECORDFAILED")
        assert kept.agent_user_id == second.user_id
        [stop] = await center.journal("RECORDSTOP")
        assert stop.data["adopted"] is True
        tracks = await center.journal("RECORDTRACK")
        [added] = [row for row in tracks if row.data["track"].endswith("-agent-2")]
        assert added.agent_user_id == second.user_id
        with wave.open(io.BytesIO((store.directory / kept.tracks_path).read_bytes())) as wav:
            rate = wav.getframerate()
            both = array("h", wav.readframes(wav.getnframes()))
        left, right = list(both[0::2]), list(both[1::2])
        zero = min(row.at for row in tracks)
        [handed] = await center.journal("TRANSFER")
        away, moved = ((at - zero).total_seconds() for at in (restarted, handed.at))
        offset, end = float(added.data["offset"]), len(left) / rate
        print(f"\nadopted: tracks {end:.2f} s, app restarted at {away:.2f} s, transfer at "
              f"{moved:.2f} s, second agent's track from {offset:.2f} s")
        assert moved - 0.5 < offset < moved + 3.0
        assert end - offset > 2.0, "the second agent's part is in the file"
        parts = [((0.5, away - 0.5), FIRST_HZ, SECOND_HZ),  # before the restart
                 ((away + 0.5, moved - 0.3), FIRST_HZ, SECOND_HZ),  # after it
                 ((offset + 0.7, end - 0.5), SECOND_HZ, FIRST_HZ)]  # after the transfer
        for window, present, absent in parts:
            heard = level(left, rate, *window, present)
            other = level(left, rate, *window, absent)
            print(f"agent channel {window[0]:.1f}-{window[1]:.1f} s: {present} Hz {heard:.1f} "
                  f"dB, {absent} Hz {other:.1f} dB")
            assert heard > PRESENT and other < ABSENT
            assert level(right, rate, *window, CALLER_HZ) > PRESENT
            for hz in (FIRST_HZ, SECOND_HZ):
                assert level(right, rate, *window, hz) < ABSENT
