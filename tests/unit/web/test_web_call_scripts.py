"""Call scripts over the API: an admin saves versions, restores and retires; the agent on a call
gets the script of its IVR path or queue, filled with the contact's, call's and IVR's values."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from web_world import Person, World

from pbx_stasis.crm import http as crm_http
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import CallEvent, Role
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode

CALL_A = "a" * 32  # the acme agent's call from Ada's number, queue support


async def _json(world: World, who: Person, method: str, path: str, body: Any = None,
                status: int = 200) -> Any:
    response = await world.request(who, method, path, body)
    data = await response.json() if response.status != 204 else None
    assert response.status == status, data
    return data


SUPPORT = {
    "headline": "Support for {contact.name}", "queues": ["support"],
    "opening": "Hello {contact.name}, {agent.name} from support.",
    "main_points": ["Account {contact.account}, tier {contact.tier}", "Language {ivr.language}"],
    "objections": [{"objection": "I already called", "reply": "I see your call, {contact.name}"}],
    "closing": "Anything else?",
}


async def test_versions_restore_and_retire(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    first = await _json(world, admin, "PUT", "/api/call-scripts/support", SUPPORT, status=201)
    assert first["script"]["version"] == 1
    second = await _json(world, admin, "PUT", "/api/call-scripts/support",
                         SUPPORT | {"closing": "Goodbye"})
    assert second["script"]["version"] == 2
    await _json(world, admin, "POST", "/api/call-scripts/support/restore", {"version": 1})
    versions = (await _json(world, admin, "GET", "/api/call-scripts/support"))["versions"]
    assert [(v["version"], v["body"]["closing"]) for v in versions] == [
        (3, "Anything else?"), (2, "Goodbye"), (1, "Anything else?")]
    assert versions[0]["saved_by"] == "Admin of Acme"
    bad = await _json(world, admin, "POST", "/api/call-scripts/support/restore", {"version": 9},
                      status=400)
    assert bad["fields"] == {"version": "is not a version of support"}
    refused = await _json(world, admin, "PUT", "/api/call-scripts/Bad%20Name", SUPPORT, status=400)
    assert list(refused["fields"]) == ["name"]
    wrong = await _json(world, admin, "PUT", "/api/call-scripts/x",
                        {"headline": "x", "closing": "Bye {customer.name}"}, status=400)
    assert list(wrong["fields"]) == ["closing"]
    await _json(world, admin, "DELETE", "/api/call-scripts/support", status=204)
    listed = (await _json(world, admin, "GET", "/api/call-scripts"))["scripts"]
    assert [(s["name"], s["retired"]) for s in listed] == [("support", True)]
    await _json(world, admin, "DELETE", "/api/call-scripts/support", status=404)


async def test_the_agent_gets_the_calls_script_filled(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent = await world.log_in(world.person("acme", Role.AGENT))
    assert (await _json(world, agent, "GET", f"/api/calls/{CALL_A}/script"))["script"] is None
    await _json(world, admin, "PUT", "/api/call-scripts/support", SUPPORT, status=201)
    await _json(world, admin, "PUT", "/api/call-scripts/billing",
                {"headline": "Billing", "ivr_nodes": ["to_billing"], "opening": "You pressed "
                 "{ivr.main_menu}"}, status=201)
    script = (await _json(world, agent, "GET", f"/api/calls/{CALL_A}/script"))["script"]
    assert script["name"] == "support"
    assert script["headline"] == "Support for Ada Lovelace (acme)"
    assert script["opening"] == "Hello Ada Lovelace (acme), Agent of Acme from support."
    assert script["main_points"] == ["Account A-1001, tier gold", "Language —"]
    assert script["objections"] == [["I already called", "I see your call, Ada Lovelace (acme)"]]
    assert script["missing"] == ["ivr.language"]

    # The IVR sent the caller to billing: the billing script, with the key they pressed.
    async with world.db.transaction() as tx:
        for event, data in (
            ("ivr.start", {"flow": "main", "language": "en"}),
            ("ivr.enter", {"node": "main_menu"}),
            ("ivr.leave", {"node": "main_menu", "kind": "menu", "result": "option",
                           "digits": "2"}),
            ("ivr.enter", {"node": "to_billing"}),
        ):
            tx.add(CallEvent(tenant_id=world.tenant_ids["acme"], call_id=CALL_A, event=event,
                             data=data, at=utc_now()))
    script = (await _json(world, agent, "GET", f"/api/calls/{CALL_A}/script"))["script"]
    assert (script["name"], script["opening"]) == ("billing", "You pressed 2")

    stranger = await world.log_in(world.person("globex", Role.AGENT))
    await _json(world, stranger, "GET", f"/api/calls/{CALL_A}/script", status=404)
    await _json(world, agent, "GET", "/api/call-scripts", status=403)


async def test_the_call_is_read_when_the_telephony_cannot_store_its_rows(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's lookup first has the telephony process store the call rows it still holds
    (calls_stored); when that process hangs or is away, what is stored is read: the agent
    gets the call, at most the bound late, never an error."""
    agent = await world.log_in(world.person("acme", Role.AGENT))
    monkeypatch.setattr(crm_http, "CALLS_STORED_WAIT_S", 0.05)

    async def hangs() -> None:
        await asyncio.Event().wait()

    async def away() -> None:
        raise ServiceError(ServiceErrorCode.UNAVAILABLE, "the telephony process is not reachable")

    for calls_stored in (hangs, away):
        monkeypatch.setattr(world.center, "calls_stored", calls_stored)
        async with asyncio.timeout(2):
            reply = await _json(world, agent, "GET", f"/api/calls/{CALL_A}/script")
        assert reply["script"] is None  # the call was found: no script saved for it yet
        await _json(world, agent, "GET", f"/api/calls/{'c' * 32}/script", status=404)  # globex's
