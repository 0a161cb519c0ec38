"""Callers followed beyond Stasis a batch per request (calls/follow.py), on a real Asterisk:
each still gets its hangup cause, and a channel gone before the request costs the others
nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from callcenter import call_center, enqueue_into
from polling import eventually
from sandbox import Sandbox, run_sipp_async

from pbx_stasis.calls.follow import follower

pytestmark = pytest.mark.integration


async def test_callers_arriving_together_are_followed_together_to_their_cause(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        following = follower(center.app.ari, center.app.settings.ari.app)
        before = following.requests
        # 6 callers 10 ms apart, nobody to answer them: each hangs up after 1.5 s in the queue
        result = await run_sipp_async(
            "caller-hangs-up.xml", private_sandbox.sip_target, caller="+15550007", calls=6,
            rate=100, keys={"talk_ms": "1500"}, timeout=30)
        assert result.ok, result.describe()
        ends = await center.wait_for("CALLEND", 6)
        assert [(e.data["by"], e.data["cause"], e.data["cause_text"]) for e in ends] == [
            ("caller", 16, "Normal Clearing")] * 6, [e.data for e in ends]
        made = following.requests - before
        assert made < 6, f"{made} subscription requests for 6 callers arriving together"


async def test_a_channel_gone_before_the_request_leaves_the_others_followed(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        caller = asyncio.create_task(run_sipp_async(
            "caller-hangs-up.xml", private_sandbox.sip_target, caller="+15550008",
            keys={"talk_ms": "3000"}, timeout=30))
        [channel_id] = await eventually(lambda: list(center.app.router.channel_ids()),
                                        until=lambda live: len(live) == 1, within=10)
        following = follower(center.app.ari, center.app.settings.ari.app)
        # the call's own subscription is asked for first: this test's come in a window after
        before = await eventually(lambda: following.requests, until=lambda made: made >= 1)
        # one window, one request: Asterisk refuses it for the unknown channel, then each
        # channel is asked for on its own
        results = await asyncio.gather(following.follow(channel_id),
                                       following.follow("no-such-channel"))
        assert results == [True, False]
        assert following.requests - before == 3
        assert (await caller).ok
        [end] = await center.wait_for("CALLEND")
        assert (end.data["by"], end.data["cause"]) == ("caller", 16), end.data
