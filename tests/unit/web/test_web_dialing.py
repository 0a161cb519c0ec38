"""The dialling policy's API: an admin reads, sets and tries their own tenant's policy only."""

from __future__ import annotations

from typing import Any

import pytest
from web_world import World

from pbx_stasis.store.tables import Role

ROUTE = "/api/dialing/policy"


async def test_an_admin_sets_their_tenants_policy_and_the_other_tenant_keeps_the_default(
    world: World,
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "GET", ROUTE)
    assert response.status == 200
    assert (await response.json())["policy"] == {
        "countries": ["US"], "allow": [], "block": [], "roles": ["agent", "supervisor"]}

    body = {"countries": ["us", "CA"], "allow": ["+1900555"], "block": ["+1876"],
            "roles": ["supervisor"]}
    response = await world.request(admin, "PUT", ROUTE, body)
    assert response.status == 200, await response.text()
    expected = {"countries": ["CA", "US"], "allow": ["+1900555"], "block": ["+1876"],
                "roles": ["supervisor"]}
    assert (await response.json())["policy"] == expected
    assert (await (await world.request(admin, "GET", ROUTE)).json())["policy"] == expected

    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    theirs = await (await world.request(stranger, "GET", ROUTE)).json()
    assert theirs["policy"]["countries"] == ["US"] and theirs["policy"]["allow"] == []


async def test_check_says_why_a_number_is_refused(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "GET", "/api/dialing/check?number=%2B19005550123")
    verdict = await response.json()
    assert verdict["allowed"] is False and verdict["reason"] == "premium-rate"
    assert verdict["message"] == "+19005550123 is a premium-rate number"
    response = await world.request(admin, "GET",
                                   "/api/dialing/check?number=4155550199&role=manager")
    assert (await response.json())["reason"] == "role"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"countries": "is required"}),
        ({"countries": ["USA"]}, {"countries.0": "must be at most 2 characters"}),
        ({"countries": ["XX"]}, {"countries": "unknown country code(s): XX"}),
        ({"countries": ["US"], "allow": ["1900"]},
         {"allow.0": "must be a prefix: + then 1 to 15 digits, not starting with 0"}),
        ({"countries": ["US"], "allow": ["+1900"], "block": ["+1900"]},
         {"block": "+1900 is in both allow and block"}),
        ({"countries": ["US"], "roles": ["boss"]},
         {"roles.0": "must be one of agent, supervisor, manager, admin"}),
        ({"countries": "US"}, {"countries": "must be a list"}),
    ],
)
async def test_a_bad_policy_gets_400_naming_the_field(
    world: World, body: dict[str, Any], fields: dict[str, str]
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "PUT", ROUTE, body)
    reply = await response.json()
    assert response.status == 400, reply
    assert reply["fields"] == fields


NUMBERS = "/api/dialing/caller-ids"


async def test_an_admin_sets_the_tenants_numbers_and_every_role_reads_them(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    empty = await (await world.request(admin, "GET", NUMBERS)).json()
    assert empty == {"numbers": [], "default": None, "trunk": None}
    body = {"numbers": [{"number": "+1 415 555 0100", "label": "Sales"},
                        {"number": "+14155550111", "label": "Support", "default": True}]}
    response = await world.request(admin, "PUT", NUMBERS, body)
    assert response.status == 200, await response.text()
    expected = {"numbers": [
        {"number": "+14155550100", "label": "Sales", "default": False},
        {"number": "+14155550111", "label": "Support", "default": True}],
        "default": "+14155550111", "trunk": None}
    assert await response.json() == expected
    agent = await world.log_in(world.person("acme", Role.AGENT))  # the dial pad's "Call as"
    assert await (await world.request(agent, "GET", NUMBERS)).json() == expected
    assert (await world.request(agent, "PUT", NUMBERS, body)).status == 403
    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    assert (await (await world.request(stranger, "GET", NUMBERS)).json())["numbers"] == []


async def test_a_bad_number_gets_400_naming_the_field(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "PUT", NUMBERS, {"numbers": [
        {"number": "+14155550100"}, {"number": "+15559876543"}]})
    assert response.status == 400
    assert (await response.json())["fields"] == {
        "numbers.1.number": "+15559876543 is not a valid phone number"}


async def test_click_to_call_presents_only_a_number_of_the_tenants(world: World) -> None:
    tenant_id = world.tenant_ids["acme"]
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    await world.request(admin, "PUT", NUMBERS, {"numbers": [{"number": "+14155550100"}]})
    agent = await world.log_in(world.person("acme", Role.AGENT))
    for caller_id, field in (("+14155550111", "+14155550111 is not one of your numbers"),
                             ("555", "must be a phone number in international form, e.g. "
                                     "+14155550100")):
        response = await world.request(agent, "POST", "/api/calls/dial",
                                        {"number": "+14155550199", "caller_id": caller_id})
        assert response.status == 400
        assert (await response.json())["fields"] == {"caller_id": field}
    assert world.center.asked == []  # nothing rang
    response = await world.request(agent, "POST", "/api/calls/dial",
                                   {"number": "+14155550199", "caller_id": "+1 415 555 0100"})
    assert response.status == 201
    assert world.center.asked == [
        ("dial", tenant_id, agent.user_id, "+14155550199", "+14155550100")]
    # The other tenant's numbers are not this one's.
    stranger = await world.log_in(world.person("globex", Role.AGENT))
    response = await world.request(stranger, "POST", "/api/calls/dial",
                                   {"number": "+14155550199", "caller_id": "+14155550100"})
    assert response.status == 400
