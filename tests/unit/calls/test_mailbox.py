"""A task's mailbox (calls/mailbox.py): first in, first out; a reader waits for the next item
and is woken by it; a reader that gives up (a timeout) leaves the item for the next read; a
second reader at once is a bug, told at once."""

from __future__ import annotations

import asyncio

import pytest

from pbx_stasis.calls.mailbox import Mailbox


async def test_items_come_out_in_the_order_they_went_in() -> None:
    box: Mailbox[int] = Mailbox()
    for n in range(5):
        box.put_nowait(n)
    assert box.qsize() == 5
    assert [await box.get() for _ in range(4)] == [0, 1, 2, 3]
    assert box.get_nowait() == 4
    assert box.empty()
    with pytest.raises(asyncio.QueueEmpty):
        box.get_nowait()


async def test_a_waiting_reader_is_woken_by_the_next_item() -> None:
    box: Mailbox[str] = Mailbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not reader.done()
    box.put_nowait("a")
    box.put_nowait("b")
    assert await reader == "a"
    assert await box.get() == "b"


async def test_a_reader_that_times_out_loses_nothing() -> None:
    box: Mailbox[str] = Mailbox()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await box.get()
    box.put_nowait("kept")
    assert await box.get() == "kept"


async def test_an_item_put_as_the_reader_is_cancelled_stays_for_the_next_read() -> None:
    box: Mailbox[str] = Mailbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    box.put_nowait("kept")  # wakes the reader...
    reader.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await box.get() == "kept"


async def test_a_second_reader_at_once_is_refused() -> None:
    box: Mailbox[int] = Mailbox()
    first = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await box.get()
    box.put_nowait(1)
    assert await first == 1
