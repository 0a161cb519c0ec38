"""The database read now and then: an outage is told once when it begins and once when it ends,
and a failed read leaves the last answer in place."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from pbx_stasis.store.errors import StoreUnavailable
from pbx_stasis.store.polling import Polling, poll

pytestmark = pytest.mark.asyncio


async def test_an_outage_is_told_once_and_its_end_once(caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    answers = iter([1, None, None, None, 2, 3])  # None: the database away
    seen: list[int] = []
    done = asyncio.Event()

    async def read() -> None:
        answer = next(answers, None)
        if answer is None and not seen[-1:] == [3]:
            raise StoreUnavailable("database away")
        if answer is not None:
            seen.append(answer)
        if answer == 3:
            done.set()

    caplog.set_level(logging.INFO, logger="pbx_stasis.store.polling")
    task = asyncio.create_task(poll(read, 0.001, "queues", wait_first=False))
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert seen == [1, 2, 3]  # what was read stays; the failed reads changed nothing
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["queues: database away (tried again every 0.001 s; the last answer is kept)",
                     "queues: working again"]


async def test_an_error_outside_the_ones_expected_stops_the_loop() -> None:
    async def read() -> None:
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        await poll(read, 0.001, "queues", errors=(StoreUnavailable,))


async def test_polling_starts_with_the_database_away_and_reads_once_it_answers() -> None:
    read: list[int] = []
    away = True

    async def step() -> None:
        if away:
            raise StoreUnavailable("database away")
        read.append(1)

    polling = Polling(step, 0.001, "queues")
    await polling.start()  # told, not raised: the loop tries again
    away = False
    for _ in range(500):
        if read:
            break
        await asyncio.sleep(0.002)
    await polling.stop()
    assert read
