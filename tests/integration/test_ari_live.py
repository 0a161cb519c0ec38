"""The ARI client and event stream against the real sandbox Asterisk.

Each test uses its own Stasis application name and ids, and its channels are external-media
channels (no dialplan, no SIP peer), so it does not disturb the `pbx` application or other
tests sharing the instance: the shared instance ($PBX_SANDBOX_NAME, default `default`), started
by the `sandbox` fixture when needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from polling import eventually
from sandbox import Sandbox

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.acd.provision import provision
from pbx_stasis.ari import (
    AriAuthError,
    AriClient,
    AriError,
    AriEvent,
    EventStream,
    event_key,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Ari:
    url: str
    user: str
    password: str


@pytest.fixture
async def sandbox_ari(sandbox: Sandbox) -> Ari:
    """The shared sandbox instance (started by the `sandbox` fixture when it is not running)."""
    settings = Ari(sandbox.ari_url, sandbox.user, sandbox.password)
    async with AriClient(settings.url, settings.user, settings.password, timeout=3) as ari:
        try:
            await ari.asterisk.ping()
        except AriError as exc:
            pytest.fail(f"sandbox Asterisk {sandbox.name} not usable ({exc})", pytrace=False)
    return settings


@pytest.fixture
async def ari(sandbox_ari: Ari) -> AsyncIterator[AriClient]:
    async with AriClient(sandbox_ari.url, sandbox_ari.user, sandbox_ari.password) as client:
        yield client


@pytest.fixture
def rtp_sink() -> Iterator[str]:
    """A local UDP port that quietly takes the external media channel's RTP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sink.getsockname()[1]}"


class Story:
    """Event types seen, per ordering key, in the order the handler saw them."""

    def __init__(self) -> None:
        self.by_key: dict[str | None, list[str]] = defaultdict(list)

    async def handler(self, event: AriEvent) -> None:
        self.by_key[event_key(event)].append(event["type"])

    async def until(self, condition: Callable[[], bool]) -> None:
        await eventually(condition, every=0.02)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_a_channel_story_in_stasis(ari: AriClient, rtp_sink: str) -> None:
    app, story = unique("ari-test"), Story()
    leg, bridge_id = f"{app}-leg", f"{app}-bridge"
    channel_key, bridge_key = f"channel:{leg}", f"bridge:{bridge_id}"

    async with EventStream(ari, app, story.handler) as stream:
        async with asyncio.timeout(5):
            await stream.wait_connected()
        created = await ari.channels.external_media(
            app, "ulaw", external_host=rtp_sink, channel_id=leg
        )
        assert created["id"] == leg
        await story.until(lambda: "StasisStart" in story.by_key[channel_key])

        await ari.channels.set_variable(leg, "PBX_CALL", "call-1")
        assert await ari.channels.get_variable(leg, "PBX_CALL") == "call-1"
        assert await ari.channels.get_variables(leg, ["PBX_CALL"]) == {"PBX_CALL": "call-1"}

        bridge = await ari.bridges.create(["mixing"], bridge_id=bridge_id, name=app)
        await ari.bridges.add_channel(bridge["id"], leg)
        playback = await ari.bridges.play(bridge["id"], "sound:beep")
        assert playback["target_uri"] == bridge_key
        await story.until(lambda: "PlaybackFinished" in story.by_key[bridge_key])

        await ari.channels.hangup(leg, "normal")
        await story.until(lambda: "ChannelDestroyed" in story.by_key[channel_key])
        await ari.bridges.destroy(bridge["id"])
        with pytest.raises(AriError) as gone:
            await ari.channels.hangup(leg)
        stats = stream.stats

    assert gone.value.status == 404
    assert str(gone.value) == f"ARI DELETE /channels/{leg}: 404 Channel not found"
    seen = story.by_key[channel_key]
    milestones = [
        "StasisStart",
        "ChannelEnteredBridge",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert [t for t in seen if t in milestones] == milestones
    assert story.by_key[bridge_key][:2] == ["PlaybackStarted", "PlaybackFinished"]
    assert stats.handler_errors == 0
    assert stats.reconnects == 0


async def test_channels_wait_in_stasis_while_the_app_is_away_and_are_adopted(
    ari: AriClient, rtp_sink: str
) -> None:
    app, leg = unique("ari-test"), unique("ari-leg")
    first, second = Story(), Story()
    adopted: list[str] = []

    async with EventStream(ari, app, first.handler) as stream:
        async with asyncio.timeout(5):
            await stream.wait_connected()
        await ari.channels.external_media(app, "ulaw", external_host=rtp_sink, channel_id=leg)
        await first.until(lambda: "StasisStart" in first.by_key[f"channel:{leg}"])

    # The app is gone; Asterisk keeps the channel in Stasis, but tells nobody about it.
    assert (await ari.channels.get(leg))["id"] == leg

    async def resync() -> None:
        adopted.extend((await ari.applications.get(app))["channel_ids"])

    try:
        async with EventStream(ari, app, second.handler, on_connect=resync) as stream:
            async with asyncio.timeout(5):
                await stream.wait_connected()
            assert adopted == [leg]
            await ari.channels.hangup(leg)
            await second.until(lambda: "StasisEnd" in second.by_key[f"channel:{leg}"])
    finally:
        if not adopted:
            await ari.channels.hangup(leg)


async def test_wrong_password_is_named_for_rest_and_events(sandbox_ari: Ari) -> None:
    async def ignore(event: AriEvent) -> None:
        pass

    async with AriClient(sandbox_ari.url, sandbox_ari.user, "not-the-password") as ari:
        with pytest.raises(AriAuthError, match="check PBX_ARI_USER/PBX_ARI_PASSWORD"):
            await ari.channels.list()
        stream = EventStream(ari, unique("ari-test"), ignore, backoff_initial=0.2)
        stream.start()
        await asyncio.sleep(0.5)  # on purpose: with a 0.2 s backoff, at most 3 tries fit in it
        stats = stream.stats
        await stream.close()

    assert not stats.connected
    assert 1 <= stats.attempts <= 3
    assert f"ARI rejected user '{sandbox_ari.user}' (401)" in (stats.last_error or "")


async def test_pjsip_objects_are_created_and_deleted_at_run_time(ari: AriClient) -> None:
    aor = unique("ari-test-aor")
    try:
        fields = await ari.asterisk.update_config(
            "res_pjsip", "aor", aor, {"max_contacts": "1", "remove_existing": "yes"}
        )
        assert {"attribute": "max_contacts", "value": "1"} in fields
        stored = await ari.asterisk.get_config("res_pjsip", "aor", aor)
        assert {"attribute": "remove_existing", "value": "true"} in stored
    finally:
        await ari.asterisk.delete_config("res_pjsip", "aor", aor)

    with pytest.raises(AriError) as gone:
        await ari.asterisk.get_config("res_pjsip", "aor", aor)
    assert gone.value.not_found


async def test_an_agent_provisioned_again_as_the_other_kind_of_phone_keeps_nothing_of_it(
    ari: AriClient,
) -> None:
    # The same endpoint name as a softphone, then a desk phone, then a softphone again: an
    # update merges fields, so the desk phone kept DTLS-SRTP from `webrtc=yes` and heard
    # nothing (a later test's agent with the same user id had no audio).
    name = f"agent-kind-{uuid.uuid4().hex[:8]}"
    softphone = AgentRecord(
        user_id=1, tenant_id=1, username="kim", name="Kim", endpoint=name,
        sip_password=uuid.uuid4().hex, contact=None, extension="1001", skills={}, queues={},
        wrapup=None)
    desk_phone = replace(softphone, contact="sip:kim@127.0.0.1:20999")

    async def encryption() -> set[str]:
        fields = await ari.asterisk.get_config("res_pjsip", "endpoint", name)
        return {f["value"] for f in fields if f["attribute"] == "media_encryption"}

    try:
        await provision(ari, softphone)
        assert await encryption() == {"dtls"}
        await provision(ari, desk_phone)
        assert await encryption() == {"no"}
        await provision(ari, softphone)
        assert await encryption() == {"dtls"}
    finally:
        for kind in ("endpoint", "aor", "auth"):
            with contextlib.suppress(AriError):
                await ari.asterisk.delete_config("res_pjsip", kind, name)
