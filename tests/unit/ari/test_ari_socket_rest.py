"""REST over the events WebSocket against the fake ARI server: used while the socket is up and
Asterisk answers on it, HTTP otherwise; answers and errors the same either way."""

from __future__ import annotations

import asyncio
import logging

import pytest
from ari_fake_server import FakeAri, Reply
from test_ari_events import eventually, fast_stream

from pbx_stasis.ari import AriClient, AriError, AriEvent
from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.errors import AriUnreachable
from pbx_stasis.ari.request_sockets import RequestSockets


async def _ignore(event: AriEvent) -> None:
    pass


async def test_requests_travel_on_the_socket_while_it_is_up(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.reply("POST", "/bridges", payload={"id": "b 1", "bridge_type": "mixing"})
    fake_ari.reply("POST", "/channels/c1/answer", status=204)
    async with fast_stream(ari, _ignore) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        bridge = await ari.bridges.create("mixing", bridge_id="b 1", name="queue sales")
        await ari.channels.answer("c1")
        with pytest.raises(AriError) as missing:
            await ari.channels.hangup("gone")
        assert len(ari.sockets) == 1 and ari.sockets.sent == 4  # the probe and three requests
    assert bridge["id"] == "b 1"
    assert (missing.value.status, missing.value.message) == (404, "Resource not found")
    seen = [(s.via, s.method, s.path) for s in fake_ari.seen]
    assert seen == [("socket", "GET", "/asterisk/ping"), ("socket", "POST", "/bridges"),
                    ("socket", "POST", "/channels/c1/answer"),
                    ("socket", "DELETE", "/channels/gone")]
    assert dict(fake_ari.seen[1].query) == {"type": "mixing", "bridgeId": "b 1",
                                            "name": "queue sales"}
    # Closed stream: back to HTTP.
    assert not ari.sockets
    await ari.channels.answer("c1")
    assert fake_ari.seen[-1].via == "http"


async def test_a_body_goes_as_json_on_the_socket(fake_ari: FakeAri, ari: AriClient) -> None:
    fake_ari.reply("POST", "/channels/c1/variable", status=204)
    async with fast_stream(ari, _ignore) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        await ari.channels.set_variable("c1", "PBX_QUEUE", '{"queue": "sales"}')
    [request] = [s for s in fake_ari.seen if s.path == "/channels/c1/variable"]
    assert request.via == "socket"
    assert request.body is None and dict(request.query) == {
        "variable": "PBX_QUEUE", "value": '{"queue": "sales"}'}


async def test_an_asterisk_that_does_not_answer_on_the_socket_gets_http(
    fake_ari: FakeAri, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pbx_stasis.ari.events")
    fake_ari.rest_over_socket = False
    fake_ari.reply("POST", "/channels/c1/answer", status=204)
    # The requests' own time: how long the probe's answer is waited for in the background.
    async with AriClient(fake_ari.base_url, fake_ari.user, fake_ari.password,
                         timeout=0.3) as ari, fast_stream(ari, _ignore, socket_probe=0.1) as events:
        await eventually(lambda: events.connected)
        assert not ari.sockets
        await ari.channels.answer("c1")
        await eventually(lambda: "stay on HTTP" in caplog.text)
        assert not ari.sockets
    assert [s.via for s in fake_ari.seen] == ["http"]


async def test_a_socket_whose_probe_is_answered_late_takes_the_requests_then(
    fake_ari: FakeAri, ari: AriClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Asterisk busy at the connect (under load its answer can take seconds): the connection
    does not wait for it, and the requests move to the socket once it comes, instead of
    staying on HTTP until the next reconnect."""
    caplog.set_level(logging.INFO, logger="pbx_stasis.ari.events")
    fake_ari.replies[("GET", "/asterisk/ping")] = Reply(200, {"ping": "pong"}, delay=1.0)
    fake_ari.reply("POST", "/channels/c1/answer", status=204)
    async with fast_stream(ari, _ignore, socket_probe=0.1) as events:
        await eventually(lambda: events.connected)
        assert not ari.sockets
        await ari.channels.answer("c1")  # meanwhile: HTTP
        await eventually(lambda: len(ari.sockets) == 1, within=3.0)
        await ari.channels.answer("c1")
    assert [s.via for s in fake_ari.seen if s.path == "/channels/c1/answer"] == [
        "http", "socket"]
    assert "requests move to the socket (Asterisk answered late)" in caplog.text
    assert "stay on HTTP" not in caplog.text


async def test_a_request_in_flight_when_the_socket_drops_fails_as_unreachable(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.replies[("POST", "/channels")] = Reply(200, {"id": "x"}, delay=5.0)
    fake_ari.reply("POST", "/channels/c1/answer", status=204)
    async with fast_stream(ari, _ignore) as events:
        socket = await fake_ari.next_socket()
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        request = asyncio.create_task(ari.channels.originate("PJSIP/alice", app="pbx"))
        await eventually(lambda: any(s.path == "/channels" for s in fake_ari.seen))
        await socket.close()
        with pytest.raises(AriUnreachable, match="events WebSocket closed"):
            await request
        # Until the next connection is ready, requests take HTTP.
        await ari.channels.answer("c1")
        await fake_ari.next_socket()
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
    assert next(s.via for s in fake_ari.seen if s.path == "/channels/c1/answer") == "http"


async def test_files_are_fetched_over_http_even_with_the_socket(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    fake_ari.replies[("GET", "/recordings/stored/vm-1/file")] = Reply(200, raw=b"RIFF....")
    async with fast_stream(ari, _ignore) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        data = await ari.recordings.stored_file("vm-1")
    assert data == b"RIFF...."
    assert [s.via for s in fake_ari.seen if s.path.endswith("/file")] == ["http"]



async def test_request_sockets_take_requests_while_another_waits(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    """A slow request holds up only its own socket (Asterisk serves a socket's requests one after
    another): the next request takes an idle one."""
    fake_ari.replies[("POST", "/channels")] = Reply(200, {"id": "x"}, delay=0.5)
    fake_ari.reply("POST", "/channels/c1/answer", status=204)
    spare = RequestSockets(ari, "pbx", 2)
    spare.start()
    try:
        async with fast_stream(ari, _ignore) as events:
            await eventually(lambda: events.connected and len(ari.sockets) == 3)
            assert sorted(p["app"] for p in fake_ari.ws_params) == [
                "pbx", "pbx-requests-1", "pbx-requests-2"]
            originate = asyncio.create_task(ari.channels.originate("PJSIP/alice", app="pbx"))
            await eventually(lambda: any(s.path == "/channels" for s in fake_ari.seen))
            await ari.channels.answer("c1")
            assert not originate.done()
            await originate
    finally:
        await spare.close()
    assert not ari.sockets
    slow = next(s for s in fake_ari.seen if s.path == "/channels")
    quick = next(s for s in fake_ari.seen if s.path == "/channels/c1/answer")
    assert slow.via == quick.via == "socket" and slow.app != quick.app


async def test_start_sends_now_and_leaves_the_answer_to_await(
    fake_ari: FakeAri, ari: AriClient
) -> None:
    """What the ACD's owner uses to ring an agent: the request is written before start returns,
    the answer comes later (and errors with it); over HTTP the request runs in its own task."""
    fake_ari.replies[("POST", "/channels")] = Reply(200, {"id": "leg-1"}, delay=0.3)
    async with fast_stream(ari, _ignore) as events:
        await eventually(lambda: events.connected and len(ari.sockets) == 1)
        sent = ari.sockets.sent
        answer = await ari.channels.start_originate("PJSIP/alice", app="pbx", channel_id="leg-1")
        assert ari.sockets.sent == sent + 1
        await eventually(lambda: any(s.path == "/channels" for s in fake_ari.seen))
        assert (await answer)["id"] == "leg-1"
        refused = await ari.start(ops.CHANNELS_HANGUP, {"channelId": "gone"})
        with pytest.raises(AriError, match="Resource not found"):
            await refused
    over_http = await ari.channels.start_originate("PJSIP/bob", app="pbx", channel_id="leg-1")
    assert (await over_http)["id"] == "leg-1"
    assert [s.via for s in fake_ari.seen if s.path == "/channels"] == ["socket", "http"]
