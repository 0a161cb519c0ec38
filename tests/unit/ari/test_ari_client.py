"""AriClient against a fake ARI server: what goes on the wire, and how errors come back."""

from __future__ import annotations

import pytest
from ari_fake_server import FakeAri, Reply, channel, closed_port

from pbx_stasis.ari import AriAuthError, AriClient, AriError, AriUnreachable
from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.client import encode_query


async def test_originate_sends_query_params_and_variables_body(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.reply("POST", "/channels", 200, channel("agent-leg-1", "Down"))

    created = await ari.channels.originate(
        "PJSIP/agent-1001",
        app="pbx",
        app_args=["agent", "call-42"],
        caller_id='"Queue sales" <1000>',
        dial_timeout=20,
        variables={"CALLERID(name)": "Alice", "PBX_CALL": "call-42"},
        channel_id="agent-leg-1",
        originator="caller-leg-1",
        formats=["ulaw", "opus"],
    )

    assert created["id"] == "agent-leg-1"
    [seen] = fake_ari.seen
    assert (seen.method, seen.path) == ("POST", "/channels")
    assert dict(seen.query) == {
        "endpoint": "PJSIP/agent-1001",
        "app": "pbx",
        "appArgs": "agent,call-42",
        "callerId": '"Queue sales" <1000>',
        "timeout": "20",
        "channelId": "agent-leg-1",
        "originator": "caller-leg-1",
        "formats": "ulaw,opus",
    }
    assert seen.body == {"variables": {"CALLERID(name)": "Alice", "PBX_CALL": "call-42"}}


async def test_bools_are_true_false_and_lists_are_comma_joined(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.reply("POST", "/bridges/b1/addChannel", 204)
    fake_ari.reply("POST", "/channels/c1/play", 201, {"id": "p1"})

    await ari.bridges.add_channel("b1", ["c1", "c2"], role="agent", absorb_dtmf=True, mute=False)
    await ari.channels.play("c1", ["sound:queue-thankyou", "digits:42"], skipms=0,
                            playback_id="p1")

    add, play = fake_ari.seen
    assert add.query == [
        ("channel", "c1,c2"),
        ("role", "agent"),
        ("absorbDTMF", "true"),
        ("mute", "false"),
    ]
    assert add.body is None
    # Asterisk keeps only the last of repeated keys: one comma-joined value, never repeats.
    assert play.query == [("media", "sound:queue-thankyou,digits:42"), ("skipms", "0"),
                          ("playbackId", "p1")]


async def test_every_playback_is_named_by_the_client_and_open_until_its_end(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    """Its id is known before Asterisk answers: a reconnect can ask about it (ari/inflight.py)."""
    fake_ari.reply("POST", "/channels/c1/play", 201, {"id": "ignored"})
    fake_ari.reply("POST", "/channels/c2/play", 404, {"message": "Channel not found"})
    await ari.channels.play("c1", "sound:beep")
    [(named, target)] = ari.in_flight.open("playback")
    assert dict(fake_ari.seen[0].query)["playbackId"] == named and target == "channel:c1"
    with pytest.raises(AriError):
        await ari.channels.play("c2", "sound:beep", playback_id="p2")
    assert ari.in_flight.open("playback") == [(named, "channel:c1")]  # refused: not open


async def test_ids_are_one_path_segment_even_with_a_slash(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.replies[("GET", "/recordings/stored/calls%2F2025%2Fc1/file")] = Reply(
        200, raw=b"RIFF....WAVE"
    )

    audio = await ari.recordings.stored_file("calls/2025/c1")

    assert audio == b"RIFF....WAVE"
    assert fake_ari.seen[0].path == "/recordings/stored/calls%2F2025%2Fc1/file"


async def test_dynamic_config_and_event_filter_bodies(fake_ari: FakeAri, ari: AriClient) -> None:
    path = "/asterisk/config/dynamic/res_pjsip/endpoint/agent-1001"
    fake_ari.reply("PUT", path, 200, [{"attribute": "webrtc", "value": "yes"}])
    fake_ari.reply("PUT", "/applications/pbx/eventFilter", 200, {"name": "pbx"})

    tuples = await ari.asterisk.update_config(
        "res_pjsip", "endpoint", "agent-1001", {"webrtc": "yes", "allow": "opus,ulaw"}
    )
    await ari.applications.set_event_filter("pbx", disallowed=["ChannelVarset"])

    assert tuples == [{"attribute": "webrtc", "value": "yes"}]
    config, event_filter = fake_ari.seen
    assert config.body == {
        "fields": [
            {"attribute": "webrtc", "value": "yes"},
            {"attribute": "allow", "value": "opus,ulaw"},
        ]
    }
    assert event_filter.body == {"disallowed": [{"type": "ChannelVarset"}]}


async def test_variables_round_trip(fake_ari: FakeAri, ari: AriClient) -> None:
    fake_ari.reply("GET", "/channels/c1/variable", 200, {"value": "call-42"})
    fake_ari.reply("POST", "/channels/c1/variable", 204)

    assert await ari.channels.get_variable("c1", "PBX_CALL") == "call-42"
    await ari.channels.set_variable("c1", "PBX_CALL", "call-43", report_events=True)

    assert fake_ari.seen[1].query == [
        ("variable", "PBX_CALL"),
        ("value", "call-43"),
        ("report_events", "true"),
    ]


async def test_error_carries_status_path_and_asterisk_message(ari: AriClient) -> None:
    with pytest.raises(AriError) as caught:
        await ari.channels.hangup("gone-1", "normal")

    error = caught.value
    assert (error.status, error.method, error.path) == (404, "DELETE", "/channels/gone-1")
    assert error.message == "Resource not found"
    assert error.not_found
    assert str(error) == "ARI DELETE /channels/gone-1: 404 Resource not found"


async def test_conflict_message_from_asterisk(fake_ari: FakeAri, ari: AriClient) -> None:
    fake_ari.reply(
        "POST", "/channels/c1/answer", 409, {"message": "Channel not in Stasis application"}
    )

    with pytest.raises(AriError, match="409 Channel not in Stasis application") as caught:
        await ari.channels.answer("c1")

    assert caught.value.status == 409
    assert not caught.value.not_found


async def test_wrong_password_says_which_user_and_what_to_check(fake_ari: FakeAri) -> None:
    async with AriClient(fake_ari.base_url, "pbx", "wrong") as ari:
        with pytest.raises(AriAuthError) as caught:
            await ari.asterisk.ping()

    assert caught.value.status == 401
    assert "ARI rejected user 'pbx' (401): check PBX_ARI_USER/PBX_ARI_PASSWORD" in str(caught.value)


async def test_refused_connection_is_unreachable() -> None:
    async with AriClient(f"http://127.0.0.1:{closed_port()}/ari", "pbx", "secret") as ari:
        with pytest.raises(AriUnreachable) as caught:
            await ari.channels.list()

    assert caught.value.status is None
    assert "cannot connect" in str(caught.value)
    assert isinstance(caught.value, AriError)


async def test_slow_answer_is_unreachable_after_the_timeout(fake_ari: FakeAri) -> None:
    fake_ari.replies[("GET", "/asterisk/ping")] = Reply(200, {"ping": "pong"}, delay=1.0)

    async with AriClient(fake_ari.base_url, "pbx", "secret", timeout=0.2) as ari:
        with pytest.raises(AriUnreachable, match=r"no answer within 0\.2s"):
            await ari.asterisk.ping()


def test_undeclared_parameter_is_refused_before_sending() -> None:
    with pytest.raises(TypeError, match="undeclared query parameters \\['beep'\\]"):
        encode_query(ops.CHANNELS_PLAY, {"media": "sound:beep", "beep": True})


def test_none_is_left_out_and_empty_list_refused() -> None:
    assert encode_query(ops.CHANNELS_PLAY, {"media": "sound:x", "lang": None}) == {
        "media": "sound:x"
    }
    with pytest.raises(ValueError, match="empty list for media"):
        encode_query(ops.CHANNELS_PLAY, {"media": []})


def test_path_arguments_must_match_the_template() -> None:
    with pytest.raises(TypeError):
        ops.CHANNELS_GET.render({"bridgeId": "b1"})
    with pytest.raises(ValueError, match="empty channelId"):
        ops.CHANNELS_GET.render({"channelId": ""})


async def test_a_given_session_is_used_and_left_open(fake_ari: FakeAri) -> None:
    import aiohttp

    fake_ari.reply("GET", "/channels", 200, [])
    async with aiohttp.ClientSession() as session:
        async with AriClient(fake_ari.base_url, "pbx", "secret", session=session) as ari:
            assert await ari.channels.list() == []
        assert not session.closed


def test_a_bare_host_url_gets_the_ari_prefix() -> None:
    assert AriClient("http://127.0.0.1:8088", "u", "p").base_url == "http://127.0.0.1:8088/ari"
    assert AriClient("http://h:8088/ari/", "u", "p").base_url == "http://h:8088/ari"
    assert AriClient("https://h/asterisk/ari", "u", "p").base_url == "https://h/asterisk/ari"
    with pytest.raises(ValueError, match="ARI URL must be"):
        AriClient("127.0.0.1:8088", "u", "p")
