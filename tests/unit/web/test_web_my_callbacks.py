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


async def test_a_number_asks_for_at_most_the_tenants_cap_of_callbacks_a_day(
    world: World,
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    capped = await world.request(admin, "PUT", "/api/compliance/settings",
                                 {"callback_daily_cap": 2})
    assert (await capped.json())["settings"]["callback_daily_cap"] == 2
    bad = await world.request(admin, "PUT", "/api/compliance/settings",
                              {"callback_daily_cap": 0})
    assert bad.status == 400 and "callback_daily_cap" in (await bad.json())["fields"]
    agent = await world.log_in(world.person("acme", Role.AGENT))
    body = {"number": "+14155550123", "queue": "support"}
    answers = [await world.request(agent, "POST", "/api/callbacks", body) for _ in range(3)]
    assert [a.status for a in answers] == [201, 201, 403]
    assert "2 callbacks in the last 24 hours" in (await answers[2].json())["message"]
    other = await world.request(agent, "POST", "/api/callbacks",
                                {"number": "+14155550124", "queue": "support"})
    assert other.status == 201  # per number
    await world.db.writes.settle()  # the refusal's journal line (write-behind)
    refusals = await (await world.request(admin, "GET", "/api/compliance/refusals")).json()
    assert refusals["refusals"][0]["reason"] == "callback-cap"
