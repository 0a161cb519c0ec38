"""A task's mailbox: what the call path's tasks (a call's channel inbox, its lane of ARI
requests, the ACD owner) read their work from, one reader each.

asyncio.Queue does the same with a size bound, task_done/join and any number of readers, and
costs ~11 Python calls an item for them (put_nowait, full, _put, _wakeup_next, get, empty,
get_nowait, _get...); a queued call passes ~15 items through these three (issue 18, item 1).
Here a put is one call and a get one coroutine; the item stays in the deque until its reader
takes it, so a reader cancelled while woken (a timeout) loses nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """An unbounded FIFO with a single reader; put from any task of the loop."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> T:
        """The oldest item, waiting for one if there is none."""
        items = self._items
        while not items:
            if self._waiter is not None:
                raise RuntimeError("a Mailbox has one reader: another task waits on it")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return items.popleft()

    def get_nowait(self) -> T:
        """The oldest item; asyncio.QueueEmpty when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
