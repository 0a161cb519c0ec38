"""A call's lane runs its ARI jobs in order; a job that fails because the caller's channel is
gone (the caller hung up first, a normal race) is not a warning, any other refusal is."""

from __future__ import annotations

import logging

import pytest

from pbx_stasis.acd.stay import Lane
from pbx_stasis.ari import AriError

pytestmark = pytest.mark.unit

GONE = [
    (404, "Channel not found"),
    (400, "Channel not found"),  # POST /bridges/{id}/addChannel
    (422, "Channel not in Stasis application"),
    (409, "Channel not in Stasis application"),  # POST /channels/{id}/moh
]


async def _run(error: AriError, caplog: pytest.LogCaptureFixture) -> list[str]:
    done: list[str] = []

    async def failing() -> None:
        raise error

    async def after() -> None:
        done.append("after")

    lane = Lane("call-1")
    with caplog.at_level(logging.DEBUG, logger="pbx_stasis.acd.stay"):
        lane.submit(failing)
        lane.submit(after)
        await lane.close()
    assert done == ["after"]  # the lane goes on after a failed job
    return [r.levelname for r in caplog.records]


@pytest.mark.parametrize(("status", "message"), GONE)
async def test_a_gone_channel_is_no_warning(status: int, message: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    error = AriError("POST", "/bridges/q-1/addChannel", status, message)
    assert error.channel_gone
    assert await _run(error, caplog) == ["DEBUG"]


@pytest.mark.parametrize(("status", "message"), [
    (400, "Bridge not in Stasis application"),
    (409, "Bridge is busy"),
    (500, "Internal Server Error"),
])
async def test_any_other_refusal_is_a_warning(status: int, message: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    error = AriError("POST", "/bridges/q-1/addChannel", status, message)
    assert not error.channel_gone
    assert await _run(error, caplog) == ["WARNING"]
