"""Callbacks in My work: an agent sees their queues' pending callbacks and those they asked
for, by when each is due, beside their tasks; not other queues' nor finished ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from web_world import World

from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.callbacks.tables import CallbackSource, CallbackStatus
from pbx_stasis.store.tables import Role


async def test_an_agents_my_work_lists_their_queues_pending_callbacks(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))  # in queue support
    store = CallbackStore(world.db)
    tenant_id = world.tenant_ids["acme"]
    soon = datetime.now(UTC) + timedelta(hours=1)
    mine = await store.create(tenant_id=tenant_id, queue="support", number="+14155550101",
                              contact="Ada", source=CallbackSource.API, due_at=soon)
    await store.create(tenant_id=tenant_id, queue="sales", number="+14155550102", contact="",
                       source=CallbackSource.API, due_at=soon)  # not the agent's queue
    asked = await store.create(tenant_id=tenant_id, queue="sales", number="+14155550103",
                               contact="", source=CallbackSource.API,
                               due_at=soon + timedelta(hours=1), requested_by=agent.user_id)
    done = await store.create(tenant_id=tenant_id, queue="support", number="+14155550104",
                              contact="", source=CallbackSource.API, due_at=soon)
    await store.cancel(tenant_id, done.id)
    assert (await store.get(tenant_id, done.id)).status == CallbackStatus.CANCELLED  # type: ignore[union-attr]
    work = (await (await world.request(agent, "GET", "/api/me/work")).json())["items"]
    callbacks = [(i["id"], i["number"], i["name"], i["due"], i["detail"]["queue"])
                 for i in work if i["kind"] == "callback"]
    assert callbacks == [(mine.id, "+14155550101", "Ada", False, "support"),
                         (asked.id, "+14155550103", None, False, "sales")]
