"""Callbacks in an agent's "My work" (one of its work sources): the pending callbacks of their
queues and those they asked for or were reserved for, due at their time (or retry). Here, not
in callbacks/: My work reads callbacks, callbacks know nothing of My work."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.leads.service import WorkSource
from pbx_stasis.leads.work import WorkItem
from pbx_stasis.store.db import Database


async def _callbacks(store: CallbackStore, tenant_id: int, user_id: int,
                     queues: Sequence[str]) -> list[WorkItem]:
    found = await store.listed(tenant_id, queues=queues, agent_user_id=user_id)
    return [WorkItem(kind="callback", id=item.id, number=item.number,
                     name=item.contact or None, due_at=item.retry_at or item.due_at,
                     status=item.status,
                     detail={"queue": item.queue, "source": item.source,
                             "attempts": item.attempts, "last_result": item.last_result})
            for item in found]


def callback_work(db: Database) -> WorkSource:
    """The callbacks' source of My work over `db`."""
    return partial(_callbacks, CallbackStore(db))
