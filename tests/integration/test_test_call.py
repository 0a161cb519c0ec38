"""`pbx call test`, the demo's phone-network caller, on the real stack: it speaks, an agent's
desk phone hears it, and it records what the agent says back (issue: the demo's printed sipp
command sent no audio, and sipp called the agent's hang-up a failed call)."""

from __future__ import annotations

import asyncio
import sys
import wave
from pathlib import Path

import pytest
from callcenter import call_center, enqueue_into
from sandbox import Sandbox
from test_supervision_audio import RtpPhone, tone_db

pytestmark = pytest.mark.integration

AGENT_HZ = 1000


async def test_the_test_caller_speaks_and_records_the_agent(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    agent = RtpPhone("agent", AGENT_HZ)
    heard_file = tmp_path / "heard.wav"
    try:
        async with call_center(private_sandbox, tmp_path, {"sales": {}},
                               script=enqueue_into("sales")) as center:
            await center.add_agent("tess", 30, scenario="desk-phone-tone.xml",
                                   keys={"rtp_port": str(agent.port)})
            command = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "pbx_stasis.cli.main", "call", "test", "+15550300",
                "--from", "+15550301", "--seconds", "4", "--to", private_sandbox.sip_target,
                "--record", str(heard_file),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(command.communicate(), 60)
            await center.wait_for("CALLEND")
    finally:
        agent.close()
    report = out.decode() + err.decode()
    assert command.returncode == 0, report
    assert "spoken prompt" in report and "heard" in report, report
    # The agent heard a voice: speech energy, not the silence sipp's own media would send.
    spoken = agent.heard()
    assert len(spoken) > 2 * 8000, "the agent's phone got under 2 s of audio"
    assert max(abs(s) for s in spoken) > 3000, "the caller was silent"
    # The caller recorded the agent: the agent phone's tone is in the WAV file.
    with wave.open(str(heard_file)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        frames = wav.readframes(wav.getnframes())
    samples = [int.from_bytes(frames[i:i + 2], "little", signed=True)
               for i in range(0, len(frames), 2)]
    assert len(samples) > 2 * 8000
    assert tone_db(samples, AGENT_HZ) > -30
