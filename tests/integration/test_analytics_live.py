"""Conversation analytics on a real call: each side speaks a known sentence (espeak-ng through
mu-law, sent as RTP by the test phones of sipp's scenarios); the call is recorded per speaker
(a snoop on each leg), transcribed by pocketsphinx in the worker's process, and its insights
computed: each side's words are on its own channel, talk time per side is what was played, the
tenant's keyword category and the hot-lead flag fire, a webhook receiver gets transcript.ready
and insights.ready signed, and the other tenant sees none of it.
Call quality: a call whose customer's phone loses packets has a clearly lower MES on that leg
than on the agent's, both stored with the call."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import wave
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from callcenter import call_center, enqueue_into
from polling import eventually
from prometheus_client import REGISTRY
from sandbox import Sandbox, run_sipp_async

from pbx_stasis.analytics.events import TRANSCRIPT_READY
from pbx_stasis.analytics.rules import AnalyticsRulesFields
from pbx_stasis.analytics.speech import speech_intervals
from pbx_stasis.analytics.store import DONE, AnalyticsStore
from pbx_stasis.analytics.worker import TranscriptionWorker, decoder_pool
from pbx_stasis.ari import AriError
from pbx_stasis.config import WebhookSettings
from pbx_stasis.plugins import web_app
from pbx_stasis.quality.watcher import call_quality
from pbx_stasis.recording.recorder import RecordingError, RecordingState
from pbx_stasis.store import Directory
from pbx_stasis.testcall.cli import spoken
from pbx_stasis.testcall.rtp import RATE, RtpPhone, ulaw_decode
from pbx_stasis.web.app import WebContext
from pbx_stasis.webhooks.core import verify
from pbx_stasis.webhooks.service import WEBHOOKS

pytestmark = pytest.mark.integration

AGENT_SAYS = "good morning how can I help you"
CUSTOMER_SAYS = "we would like to buy it"
RULES = {"categories": [{"name": "buying", "phrases": ["buy"], "speaker": "customer"}],
         "lead": {"category_points": {"buying": 40}, "positive_points": 20, "threshold": 50}}


def speech_seconds(pcmu: bytes) -> float:
    """How long the clip speaks (its own lead-in and trailing silence left out)."""
    samples = np.array(ulaw_decode(pcmu), dtype=np.int16)
    return sum(interval.seconds for interval in speech_intervals(samples, RATE))


async def test_a_call_is_recorded_per_speaker_transcribed_and_scored(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    agent_clip, customer_clip = spoken(AGENT_SAYS), spoken(CUSTOMER_SAYS)
    assert agent_clip and customer_clip, "espeak-ng and sox are installed by scripts/test"
    caller, agent = RtpPhone("caller"), RtpPhone("agent")  # silent until they speak
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        tenant_id = center.app.tenant_id
        store = await center.record()
        recorder = center.app.recorder
        analytics = AnalyticsStore(center.db)
        await analytics.set_rules(tenant_id, AnalyticsRulesFields.model_validate(RULES))
        await center.add_agent("rita", 540, scenario="desk-phone-tone.xml",
                               keys={"rtp_port": str(agent.port)})
        call = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", private_sandbox.sip_target, caller="+15550300",
            keys={"talk_ms": "6500", "rtp_port": str(caller.port)}, timeout=30))
        try:
            [connect] = await center.wait_for("CONNECT")
            assert connect.call_id is not None
            await eventually(lambda: recorder.state(tenant_id, str(connect.call_id)),
                             ignoring=(RecordingError,),
                             until=lambda state: state.state is RecordingState.RECORDING,
                             every=0.02)
            # The tracks' snoops start just after the mixed recording: the agent speaks once
            # Asterisk records both (a fixed wait clipped "good morning" under a loaded run).
            tracks = await center.wait_for("RECORDTRACK", count=2)
            for track in tracks:
                await eventually(
                    partial(center.app.ari.recordings.get_live, str(track.data["track"])),
                    until=lambda live: live["state"] == "recording", every=0.02,
                    ignoring=(AriError,))
            # One after the other, as a conversation goes: the agent greets, the customer answers.
            agent.speak(agent_clip)
            await asyncio.sleep(len(agent_clip) / RATE + 0.3)
            caller.speak(customer_clip)
            result = await call
            assert result.ok, result.describe()
            await center.idle()
            await recorder.drain()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 30)
            caller.close()
            agent.close()

        [kept] = await store.for_call(str(connect.call_id))
        assert kept.tracks_path is not None, await center.journal("RECORDFAILED")
        with wave.open(io.BytesIO((store.directory / kept.tracks_path).read_bytes())) as wav:
            assert (wav.getnchannels(), wav.getframerate()) == (2, RATE)
        assert store.path_of(kept).exists()  # the mixed file people play is still there

        # A webhook receiver for transcript.ready and insights.ready, the web app's dispatcher
        # on the app's bus (the worker publishes there once the transcript is stored).
        got: list[tuple[dict[str, str], bytes]] = []

        async def receive(request: web.Request) -> web.Response:
            got.append((dict(request.headers), await request.read()))
            return web.Response(text="ok")

        receiver_app = web.Application()
        receiver_app.router.add_post("/hooks", receive)
        receiver = TestServer(receiver_app, host="127.0.0.1")
        await receiver.start_server()
        settings = replace(center.app.settings, webhooks=WebhookSettings(internal_urls=True))
        pages = TestServer(web_app(WebContext(db=center.db, bus=center.app.bus,
                                              settings=settings), []))
        await pages.start_server()

        def transcribed() -> tuple[float, float]:  # /metrics' figures (the process's)
            return (REGISTRY.get_sample_value("pbx_transcriptions_total", {"outcome": "done"})
                    or 0.0, REGISTRY.get_sample_value("pbx_transcription_seconds_count") or 0.0)

        before = transcribed()
        worker = TranscriptionWorker(center.db, store.directory, {}, pool=decoder_pool(),
                                     bus=center.app.bus)
        try:
            _, secret = await pages.app[WEBHOOKS].create(
                tenant_id, str(receiver.make_url("/hooks")),
                ["transcript.ready", "insights.ready"], "test")
            await eventually(lambda: center.app.bus.listened(TRANSCRIPT_READY, tenant_id))
            assert await worker.run_pending() == 1
            await eventually(lambda: len(got), until=lambda n: n >= 2, within=20)
        finally:
            worker.pool.shutdown()
            await pages.close()
            await receiver.close()
        assert transcribed() == (before[0] + 1, before[1] + 1)
        hooks = {}
        for headers, body in got:
            assert verify(secret, headers["X-Pbx-Signature"], body, int(time.time()))
            event = json.loads(body)
            hooks[event["type"]] = event["data"]
        assert hooks["transcript.ready"]["recording_id"] == kept.id
        assert (hooks["transcript.ready"]["status"], hooks["transcript.ready"]["engine"]) == (
            "done", "pocketsphinx")
        assert (hooks["insights.ready"]["hot"], hooks["insights.ready"]["categories"]) == (
            True, ["buying"])
        transcript = await analytics.transcript(tenant_id, kept.id)
        assert transcript is not None and transcript.status == DONE
        said = {side: " ".join(line.text for line in transcript.lines if line.speaker == side)
                for side in ("agent", "customer")}
        print(f"\ntranscript: {said}")
        assert "morning" in said["agent"] and "buy" not in said["agent"], said
        assert "buy" in said["customer"] and "morning" not in said["customer"], said

        insights = await analytics.insights(tenant_id, kept.id)
        assert insights is not None
        played = {"agent": speech_seconds(agent_clip), "customer": speech_seconds(customer_clip)}
        print(f"talk {insights['talk']}, played {played}, overtalk {insights['overtalk']}")
        for side in ("agent", "customer"):
            assert insights["talk"][side] == pytest.approx(played[side], abs=0.4), insights
        assert insights["interruptions"] == 0  # they spoke one after the other
        assert [c["category"] for c in insights["categories"]] == ["buying"]
        assert insights["lead"]["hot"] is True
        [lead] = await analytics.hot_leads(tenant_id)
        assert (lead.call_id, lead.from_number) == (connect.call_id, "+15550300")

        # Another tenant can neither read nor find it (the routes' role x tenant checks are in
        # tests/unit/web/test_web_access.py).
        other = (await Directory(center.db).ensure_tenant("globex")).id
        assert await analytics.transcript(other, kept.id) is None
        assert await analytics.search(other, "buy") == []
        assert [f.recording_id for f in await analytics.search(tenant_id, "buy")] == [kept.id]


async def test_the_leg_that_loses_packets_has_the_lower_mes(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    # The customer's line loses one packet in four; the agent's is clean. Asterisk reports
    # RTCP every ~5 s, each leg read once a report is due: a 12 s talk has a reading per leg.
    caller, agent = RtpPhone("caller", 600, lose_every=4), RtpPhone("agent", 1000)
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        await center.add_agent("quinn", 544, scenario="desk-phone-tone.xml",
                               keys={"rtp_port": str(agent.port)})
        warnings = center.app.bus.subscribe(["quality:poor"])
        try:
            result = await run_sipp_async(
                "caller-tone.xml", private_sandbox.sip_target, caller="+15550301",
                keys={"talk_ms": "12000", "rtp_port": str(caller.port)}, timeout=30)
            assert result.ok, result.describe()
            await center.idle()
            await center.app.quality.drain()
        finally:
            caller.close()
            agent.close()
        [connect] = await center.journal("CONNECT")
        legs = await call_quality(center.db, center.app.tenant_id, str(connect.call_id))
        print(f"\n{ {leg: q.as_json() for leg, q in legs.items()} }")
        customer, clean = legs["customer"], legs["agent"]
        assert customer.mes is not None and clean.mes is not None, legs
        # (lost counts up to the last RTCP report, received up to the reading: under 25 %)
        assert customer.loss_percent > 10
        assert clean.loss_percent == 0
        assert customer.mes < clean.mes - 10, legs
        # ... and supervisors were warned while the call went on: about that leg, once
        warned = warnings.get_nowait()
        assert warned is not None and warnings.get_nowait() is None
        assert (warned.payload.call_id, warned.payload.leg) == (connect.call_id, "customer")
