"""The callbacks API: asking for one (the number judged by the tenant's dialling policy, the
queue the tenant's own, the time ahead and with its offset), an agent's own list, cancelling
one not dialled yet."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from web_world import World

from pbx_stasis.callbacks.events import CALLBACK_REQUESTED
from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.callbacks.tables import CallbackRow, CallbackStatus
from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import Call, CallEvent, Role

ROUTE = "/api/callbacks"


async def test_an_agent_asks_for_a_callback_at_a_time_and_finds_it_in_their_list(
    world: World,
) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    requested = world.bus.subscribe((CALLBACK_REQUESTED,))
    body = {"number": "(415) 555-0123", "queue": "support", "contact": "Bo",
            "at": "2099-01-01T10:00:00+01:00"}
    response = await world.request(agent, "POST", ROUTE, body)
    assert response.status == 400  # too far ahead
    assert (await response.json())["fields"] == {"at": "is more than 90 days ahead"}
    body["at"] = "2026-12-01T10:00:00Z"  # past: now
    response = await world.request(agent, "POST", ROUTE, body)
    assert response.status == 201, await response.text()
    callback = (await response.json())["callback"]
    assert (callback["number"], callback["status"], callback["source"]) == (
        "+14155550123", "scheduled", "api")
    # callback:requested (the webhooks' callback.requested), once: the refused one is none.
    event = requested.get_nowait()
    assert event is not None and requested.get_nowait() is None
    assert (event.payload.callback_id, event.payload.number, event.payload.source,
            event.payload.contact) == (callback["id"], "+14155550123", "api", "Bo")
    requested.close()
    listed = await (await world.request(agent, "GET", ROUTE)).json()
    assert [item["id"] for item in listed["callbacks"]] == [callback["id"]]
    # Another tenant's supervisor sees none of it.
    stranger = await world.log_in(world.person("globex", Role.SUPERVISOR))
    assert (await (await world.request(stranger, "GET", ROUTE)).json())["callbacks"] == []
    # Its call record exists from the start: the journal's lines of the callback refer to it.
    async with world.db.session() as session:
        call = await session.get(Call, callback["id"])
    assert call is not None and call.to_number == "+14155550123"


async def test_a_number_the_policy_refuses_is_refused_and_journaled(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(
        agent, "POST", ROUTE, {"number": "+19005550123", "queue": "support"})
    assert response.status == 403
    assert (await response.json())["fields"] == {
        "number": "+19005550123 is a premium-rate number"}
    await world.db.writes.settle()
    async with world.db.session() as session:
        lines = (await session.scalars(
            select(CallEvent).where(CallEvent.event == "DIAL_REFUSED"))).all()
        assert [line.data["number"] for line in lines] == ["+19005550123"]
        assert (await session.scalars(select(CallbackRow))).all() == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"number": "+14155550123", "queue": "nope"}, {"queue": "no such queue"}),
        ({"number": "+14155550123", "queue": "support", "at": "tomorrow"},
         {"at": "is not a date and time (ISO 8601, e.g. 2026-12-02T15:30:00+01:00)"}),
        ({"number": "+14155550123", "queue": "support", "at": "2026-12-02T10:00:00"},
         {"at": "needs its UTC offset (e.g. +01:00 or Z)"}),
        ({"queue": "support"}, {"number": "is required"}),
        # Not a number at all: a 400 on the field, not the dialling policy's 403.
        ({"number": "abc", "queue": "support"}, {"number": "'abc' is not a phone number"}),
        ({"number": "+1415555012", "queue": "support"},
         {"number": "+1415555012 is not a possible phone number"}),
    ],
)
async def test_bad_input_names_the_field(world: World, body: dict[str, Any],
                                         fields: dict[str, str]) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "POST", ROUTE, body)
    assert response.status == 400
    assert (await response.json())["fields"] == fields


async def test_a_callback_under_way_cannot_be_cancelled(world: World) -> None:
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    made = await (await world.request(
        supervisor, "POST", ROUTE, {"number": "+14155550123", "queue": "sales"})).json()
    callback_id = made["callback"]["id"]
    async with world.db.transaction() as tx:
        row = await tx.get(CallbackRow, callback_id)
        assert row is not None
        row.status = CallbackStatus.DIALLING
    response = await world.request(supervisor, "DELETE", f"{ROUTE}/{callback_id}")
    assert response.status == 409
    assert (await response.json())["error"] == "callback-under-way"
    # A queued one is cancelled once the ACD lets it go; a scheduled one at once.
    async with world.db.transaction() as tx:
        row = await tx.get(CallbackRow, callback_id)
        assert row is not None
        row.status = CallbackStatus.QUEUED
    response = await world.request(supervisor, "DELETE", f"{ROUTE}/{callback_id}")
    assert (await response.json())["callback"]["status"] == "cancelling"
    tenant = world.tenant_ids["acme"]
    assert (await CallbackStore(world.db).changes(utc_now()))[1] == [callback_id]
    other = await CallbackStore(world.db).get(tenant + 1, callback_id)
    assert other is None
