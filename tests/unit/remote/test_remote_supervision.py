"""A split deployment's wire for live supervision and recording control: the web process's
proxies of SupervisionControl and RecordingControl call a real aiohttp server of `rpc_app` and
get back the same values, and the Stasis side's refusals as the same errors (code and message).

Behind the server sit small in-memory implementations of the two protocols that note what they
were asked: this tests the wire (tests/unit/remote/test_remote_routes.py runs the routes over
it in front of the real services)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from noted import (
    CALL,
    SECRET,
    SINCE,
    TALK,
    TENANT,
    NotedRecorder,
    NotedSupervision,
    session_view,
)

from pbx_stasis.acd.service import ACD_SERVICE as CENTER
from pbx_stasis.bus import Bus
from pbx_stasis.plugins import INTERFACES, TOPICS
from pbx_stasis.recording.recorder import RecordingError, RecordingState
from pbx_stasis.recording.service import RECORDING_SERVICE as RECORDING
from pbx_stasis.recording.service import RecordingControl
from pbx_stasis.remote.client import proxy
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.remote.server import SECRET_HEADER, rpc_app
from pbx_stasis.supervision.core import Mode
from pbx_stasis.supervision.service import SUPERVISION_SERVICE as SUPERVISION
from pbx_stasis.supervision.service import SupervisionControl, SupervisionError, Switched
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode


@dataclass
class Wire:
    supervision: NotedSupervision
    recorder: NotedRecorder
    remote_supervision: SupervisionControl
    remote_recorder: RecordingControl
    url: str
    session: aiohttp.ClientSession


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    supervision, recorder = NotedSupervision(), NotedRecorder()
    center: Any = object()  # not asked here
    server = TestServer(rpc_app(Bus(), SECRET, INTERFACES,
                                [Offered(CENTER, center), Offered(SUPERVISION, supervision),
                                 Offered(RECORDING, recorder)], TOPICS))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url(""))
        yield Wire(supervision, recorder, proxy(SUPERVISION, url, SECRET, session),
                   proxy(RECORDING, url, SECRET, session), url, session)
    await server.close()


async def test_supervision_values_cross_intact(wire: Wire) -> None:
    remote, local = wire.remote_supervision, wire.supervision
    assert await remote.supervised_calls(TENANT) == await local.supervised_calls(TENANT)
    assert await remote.sessions(TENANT) == [session_view(None, supervisor_user_id=None)]
    assert await remote.session(TENANT, "s1") == session_view(Mode.LISTEN)
    assert await remote.talk(TENANT, CALL) == TALK
    assert await remote.talk(TENANT, "d" * 32) is None
    started = await remote.start(TENANT, CALL, "PJSIP/phone-9", Mode.BARGE,
                                 supervisor_user_id=9)
    assert started == session_view(Mode.BARGE) and started.started_at == SINCE
    switched = await remote.switch("s1", Mode.WHISPER, tenant_id=TENANT)
    assert switched == Switched(session_view(Mode.WHISPER), 0.0042)
    assert await remote.stop("s1", tenant_id=TENANT) is None
    [row] = await remote.history(TENANT, call_id=CALL, limit=7)
    assert row.mode == "barge" and row.started_at == SINCE and row.ended_at is None
    # Every argument arrived as given, keyword-only ones included (the supervisor's identity
    # is what the audit writes), and defaults were filled in on the web side.
    assert local.asked[1:] == [
        ("supervised_calls", (TENANT,), {}),
        ("sessions", (TENANT, None), {}),
        ("session", (TENANT, "s1"), {}),
        ("talk", (TENANT, CALL), {}),
        ("talk", (TENANT, "d" * 32), {}),
        ("start", (TENANT, CALL, "PJSIP/phone-9", Mode.BARGE), {"supervisor_user_id": 9}),
        ("switch", ("s1", Mode.WHISPER), {"tenant_id": TENANT}),
        ("stop", ("s1",), {"tenant_id": TENANT}),
        ("history", (TENANT,), {"call_id": CALL, "limit": 7}),
    ]
    await remote.history(TENANT)
    assert local.asked[-1] == ("history", (TENANT,), {"call_id": None, "limit": 100})


async def test_recording_values_cross_intact(wire: Wire) -> None:
    remote, local = wire.remote_recorder, wire.recorder
    assert await remote.talk(TENANT, CALL) == TALK
    assert await remote.state(TENANT, CALL) == local._view(RecordingState.OFF)
    started = await remote.start(TENANT, CALL, by_user_id=17)
    assert started.state is RecordingState.RECORDING and started.recorded_seconds == 12.5
    assert (await remote.pause(TENANT, CALL, by_user_id=9)).state is RecordingState.PAUSED
    assert (await remote.resume(TENANT, CALL)).state is RecordingState.RECORDING
    assert local.asked == [
        ("talk", (TENANT, CALL), {}),
        ("state", (TENANT, CALL), {}),
        ("start", (TENANT, CALL), {"by_user_id": 17}),
        ("pause", (TENANT, CALL), {"by_user_id": 9}),
        ("resume", (TENANT, CALL), {"by_user_id": None}),
    ]


@pytest.mark.parametrize("code", ["not-found", "conflict", "unavailable"])
async def test_refusals_cross_as_the_same_errors(wire: Wire, code: str) -> None:
    wire.supervision.refuse = SupervisionError(code, f"supervision says {code}")
    with pytest.raises(SupervisionError) as refused:
        await wire.remote_supervision.switch("s1", Mode.BARGE, tenant_id=TENANT)
    assert (refused.value.code, refused.value.message) == (code, f"supervision says {code}")
    wire.recorder.refuse = RecordingError(code, f"recorder says {code}")
    with pytest.raises(RecordingError) as refused_too:
        await wire.remote_recorder.pause(TENANT, CALL, by_user_id=9)
    assert (refused_too.value.code, refused_too.value.message) == (code, f"recorder says {code}")


async def test_a_wrong_secret_is_refused(wire: Wire) -> None:
    intruder = proxy(SUPERVISION, wire.url, "guess", wire.session)
    with pytest.raises(SupervisionError) as refused:
        await intruder.start(TENANT, CALL, "PJSIP/mine", Mode.LISTEN, supervisor_user_id=1)
    assert refused.value.code == "unavailable" and "403" in refused.value.message
    with pytest.raises(RecordingError) as refused_too:
        await proxy(RECORDING, wire.url, "", wire.session).pause(TENANT, CALL)
    assert refused_too.value.code == "unavailable" and "403" in refused_too.value.message
    assert wire.supervision.asked == [] and wire.recorder.asked == []


async def test_only_the_protocols_methods_are_served(wire: Wire) -> None:
    """Not the adapters' other attributes, not private methods, not other interfaces."""
    for path in ("/rpc/supervision/service", "/rpc/supervision/_note",
                 "/rpc/supervision/__init__", "/rpc/recording/recorder", "/rpc/nothing/talk"):
        async with wire.session.post(f"{wire.url.rstrip('/')}{path}", json={},
                                     headers={SECRET_HEADER: SECRET}) as answer:
            assert answer.status == 404, path
    assert wire.supervision.asked == [] and wire.recorder.asked == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_stasis_process_that_is_down_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SupervisionError) as down:
            await proxy(SUPERVISION, url, SECRET, session).supervised_calls(TENANT)
        with pytest.raises(RecordingError) as down_too:
            await proxy(RECORDING, url, SECRET, session).state(TENANT, CALL)
        with pytest.raises(ServiceError) as down_also:
            await proxy(CENTER, url, SECRET, session).agents(TENANT)
    assert down.value.code == down_too.value.code == "unavailable"
    assert down_also.value.code is ServiceErrorCode.UNAVAILABLE
    for error in (down.value, down_too.value, down_also.value):
        assert "telephony process is not reachable" in str(error) and url in str(error)


async def test_a_stasis_process_without_supervision_says_so() -> None:
    center: Any = object()
    server = TestServer(rpc_app(Bus(), SECRET, INTERFACES, [Offered(CENTER, center)], TOPICS))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url(""))
            with pytest.raises(SupervisionError) as missing:
                await proxy(SUPERVISION, url, SECRET, session).sessions(TENANT)
            with pytest.raises(RecordingError) as missing_too:
                await proxy(RECORDING, url, SECRET, session).talk(TENANT, CALL)
    finally:
        await server.close()
    assert missing.value.code == missing_too.value.code == "unavailable"
    assert "does not offer supervision" in missing.value.message
    assert "does not offer recording" in missing_too.value.message
