"""Number masking through the real web app: a role the tenant masks sees callers' numbers
masked in every output (API answers, the caller's card, call details, CSV files, the live feed,
webhooks when the tenant says so), still calls them back by contact or call, edits a contact
without losing its phones; other roles, and the tenant's own numbers, stay whole."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from polling import eventually
from web_world import Person, World, build_world, close_world

from pbx_stasis.calls.events import CALL_ENDED, CALL_STATE, CallEnded, CallUpdated
from pbx_stasis.config import WebhookSettings
from pbx_stasis.crm.phones import mask_number
from pbx_stasis.masking.agents import MaskedAgents
from pbx_stasis.masking.core import mask_csv, masker
from pbx_stasis.store.tables import Direction, Role

NUMBER = "+14155550100"  # the seeded contact's phone, and the seeded calls' caller
MASKED = "+1 415 •••• 100"
OWN = "+14155550199"  # one of the tenant's caller IDs
# Any trace of the number: whole, national, or its digits.
WHOLE = re.compile(r"4155550100|415[ .-]?555[ .-]?0100")


async def as_(world: World, role: Role, method: str, path: str, body: Any = None,
              tenant: str = "acme") -> tuple[int, str]:
    who = await world.log_in(world.person(tenant, role))
    response = await world.request(who, method, path, body)
    return response.status, await response.text()


async def mask(world: World, roles: list[str], webhooks: bool = False) -> None:
    status, text = await as_(world, Role.ADMIN, "PUT", "/api/masking",
                             {"roles": roles, "webhooks": webhooks})
    assert status == 200, text


def test_the_mask() -> None:
    assert mask_number(NUMBER) == MASKED
    assert mask_number("+971501234567") == "+971 501 ••• 567"
    assert mask_number("4155550100") == "415 •••• 100"
    assert mask_number("1001") == "1001"  # an extension
    assert mask_number(MASKED) == MASKED
    shape = masker({OWN})
    assert shape({"call": {"from_number": NUMBER, "to_number": OWN, "at": "2026-12-01",
                           "data": {"from": "4155550100"}, "note": "+447700900123",
                           "text": "call me"}}) == {
        "call": {"from_number": MASKED, "to_number": OWN, "at": "2026-12-01",
                 "data": {"from": "415 •••• 100"}, "note": "+44 770 •••• 123",
                 "text": "call me"}}
    assert mask_csv(f"id,phone,name\n1,'{NUMBER},Ada\n2,x,{OWN}\n", shape) == (
        f"id,phone,name\n1,'{MASKED},Ada\n2,x,{OWN}\n")


async def test_a_masked_role_sees_no_number_anywhere(world: World) -> None:
    status, text = await as_(world, Role.ADMIN, "PUT", "/api/dialing/caller-ids",
                             {"numbers": [{"number": OWN, "label": "Main"}]})
    assert status == 200, text
    contact_id = world.contact_ids["acme"]
    outputs = [
        (Role.AGENT, f"/api/contacts/{contact_id}"),
        (Role.AGENT, f"/api/contacts/by-phone?number=%2B{NUMBER[1:]}"),
        (Role.AGENT, f"/api/contacts/{contact_id}/timeline"),
        (Role.AGENT, "/api/contacts?q=Ada"),
        (Role.AGENT, "/api/calls"),
        (Role.SUPERVISOR, f"/api/calls/{'a' * 32}"),
        (Role.SUPERVISOR, "/api/calls?limit=50"),
    ]
    for role, path in outputs:  # before: whole
        status, text = await as_(world, role, "GET", path)
        assert status == 200 and WHOLE.search(text), (path, text[:300])
    await mask(world, ["agent", "supervisor"])
    for role, path in outputs:
        status, text = await as_(world, role, "GET", path)
        assert status == 200, (path, text[:300])
        assert not WHOLE.search(text), (role, path, text[:500])
        assert MASKED in text or "415 •••• 100" in text, (path, text[:300])
    # Roles not masked see it whole; the tenant's own numbers stay whole for everyone.
    status, text = await as_(world, Role.MANAGER, "GET", f"/api/contacts/{contact_id}")
    assert NUMBER in text
    status, text = await as_(world, Role.AGENT, "GET", "/api/dialing/caller-ids")
    assert OWN in text

    # CSV files: a list of leads exported by a supervisor.
    status, text = await as_(world, Role.SUPERVISOR, "POST", "/api/leads/lists",
                             {"name": "Masked", "csv": f"phone,name\n{NUMBER},Ada\n"})
    assert status == 201, text
    list_id = json.loads(text)["list"]["id"]
    status, text = await as_(world, Role.SUPERVISOR, "GET",
                             f"/api/leads/lists/{list_id}/export")
    assert status == 200 and not WHOLE.search(text) and MASKED in text, text

    # The agent calls the contact back by its id; the server dials the whole number.
    status, text = await as_(world, Role.AGENT, "POST", "/api/calls/dial-by",
                             {"contact_id": contact_id, "phone": 0})
    assert status == 201, text
    agent = world.person("acme", Role.AGENT)
    assert world.center.asked[-1] == ("dial", agent.tenant_id, agent.user_id, NUMBER)
    status, text = await as_(world, Role.AGENT, "POST", "/api/calls/dial-by",
                             {"call_id": "b" * 32})  # a call they took: its caller, as stored
    assert status == 201, text
    assert world.center.asked[-1] == ("dial", agent.tenant_id, agent.user_id, "4155550100")
    status, text = await as_(world, Role.AGENT, "POST", "/api/calls/dial-by",
                             {"contact_id": contact_id, "phone": 3})
    assert (status, json.loads(text)["fields"]) == (400, {"phone": "the contact has 1 phone(s)"})
    status, text = await as_(world, Role.AGENT, "POST", "/api/calls/dial-by",
                             {"contact_id": world.contact_ids["globex"]})
    assert status == 400 and "is not one of your contacts" in text
    # The caller's card of a call they took, from its masked number.
    status, text = await as_(world, Role.AGENT, "GET",
                             f"/api/contacts/by-phone?number={MASKED}&call_id={'a' * 32}")
    assert status == 200 and json.loads(text)["contacts"][0]["id"] == contact_id, text
    status, text = await as_(world, Role.AGENT, "GET", f"/api/contacts/by-phone?number={MASKED}")
    assert status == 400 and "call_id" in text

    # Editing the contact with its masked phone keeps the phone.
    status, text = await as_(world, Role.AGENT, "PUT", f"/api/contacts/{contact_id}", {
        "name": "Ada Lovelace (acme)", "phones": [MASKED, "+14155550142"], "tags": ["vip"]})
    assert status == 200, text
    status, text = await as_(world, Role.ADMIN, "GET", f"/api/contacts/{contact_id}")
    assert json.loads(text)["contact"]["phones"] == [NUMBER, "+14155550142"]
    status, text = await as_(world, Role.AGENT, "PUT", f"/api/contacts/{contact_id}", {
        "name": "Ada", "phones": ["+1 999 •••• 000"]})
    assert status == 400 and "is masked" in text

    # Unmasked again: whole at once.
    await mask(world, [])
    status, text = await as_(world, Role.AGENT, "GET", f"/api/contacts/{contact_id}")
    assert NUMBER in text


async def feed_event(world: World, who: Person) -> dict[str, Any]:
    socket = await world.client.ws_connect("/ws", headers=who.headers)
    try:
        assert (await socket.receive_json(timeout=5))["type"] == "hello"
        await socket.send_json({"subscribe": ["call:state"]})
        assert (await socket.receive_json(timeout=5))["type"] == "subscribed"
        world.bus.publish(CALL_STATE, who.tenant_id, CallUpdated(
            call_id="live-1", direction=Direction.INBOUND, from_number=NUMBER,
            to_number=OWN, state="talking", started_at=datetime.now(UTC),
            agent_user_id=who.user_id, callback=NUMBER))
        while True:
            message = await socket.receive_json(timeout=5)
            if message["type"] == "event":
                payload: dict[str, Any] = message["payload"]
                return payload
    finally:
        await socket.close()


async def test_the_feed_is_masked_for_a_masked_role(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    await mask(world, ["agent"])
    masked = await feed_event(world, agent)
    assert (masked["from_number"], masked["callback"]) == (MASKED, MASKED)
    assert masked["to_number"] == "+1 415 •••• 199"  # not a caller ID of the tenant yet
    whole = await feed_event(world, supervisor)
    assert whole["from_number"] == NUMBER


@pytest.fixture
async def hooked(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(sqlite_template, tmp_path,
                              webhooks=WebhookSettings(internal_urls=True, first_retry=0.2))
    try:
        yield built
    finally:
        await close_world(built)


async def test_webhooks_carry_masked_numbers_when_the_tenant_says_so(hooked: World) -> None:
    world = hooked
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(json.loads(await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        status, text = await as_(world, Role.ADMIN, "POST", "/api/webhooks",
                                 {"url": str(server.make_url("/hook")), "events": ["call.ended"]})
        assert status == 201, text
        tenant_id = world.tenant_ids["acme"]
        await eventually(lambda: world.bus.listened(CALL_ENDED, tenant_id), within=5)

        def ended(call_id: str) -> CallEnded:
            now = datetime.now(UTC)
            return CallEnded(call_id=call_id, direction=Direction.INBOUND, from_number=NUMBER,
                             to_number="+15551000", state="ended", started_at=now, cause=16,
                             by="caller", ended_at=now)

        world.bus.publish(CALL_ENDED, tenant_id, ended("whole"))
        await eventually(lambda: len(got), until=lambda n: n == 1, within=10)
        await mask(world, ["agent"], webhooks=True)
        world.bus.publish(CALL_ENDED, tenant_id, ended("masked"))
        await eventually(lambda: len(got), until=lambda n: n == 2, within=10)
    finally:
        await server.close()
    assert (got[0]["data"]["call_id"], got[0]["data"]["from_number"]) == ("whole", NUMBER)
    assert (got[1]["data"]["call_id"], got[1]["data"]["from_number"]) == ("masked", MASKED)
    assert not WHOLE.search(json.dumps(got[1], ensure_ascii=False))


async def test_the_stasis_side_knows_whose_phones_are_masked(world: World) -> None:
    """masking/agents.py: the users whose tenant masks numbers for their role, read from the
    database the integrations page writes; their phones are rung with the number masked."""
    agents = MaskedAgents(world.db)
    assert await agents.read() == frozenset()
    await mask(world, ["agent", "supervisor"])
    agents.users = await agents.read()
    acme = [world.person("acme", role).user_id for role in (Role.AGENT, Role.SUPERVISOR)]
    others = [world.person("acme", Role.MANAGER).user_id,
              world.person("globex", Role.AGENT).user_id]
    assert all(agents.masks(user) for user in acme)
    assert not any(agents.masks(user) for user in others)
    assert agents.shown(acme[0], "+14155550123") == mask_number("+14155550123")
    assert agents.shown(others[1], "+14155550123") == "+14155550123"
    assert agents.caller_id(acme[0], "+14155550123", "+14155550100", None) == (
        f'"{mask_number("+14155550123")}" <+14155550100>')
    assert agents.caller_id(others[0], "+14155550123", "+14155550100", None) is None
