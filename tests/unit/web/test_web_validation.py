"""Bad input gets 400 with one message per field, and no input of any shape gets a 500."""

from __future__ import annotations

import asyncio
import random
import string
from typing import Any

import pytest
from web_world import Person, World

from pbx_stasis.plugins import WEB_ROUTES as ROUTE_TABLE  # see test_web_access
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import Kind

CASES: list[tuple[Role, str, str, Any, dict[str, str]]] = [
    (Role.AGENT, "POST", "/api/contacts", {}, {"name": "is required"}),
    (
        Role.AGENT,
        "POST",
        "/api/contacts",
        {"name": "Ann", "phones": ["+14155550100", "call me maybe"], "colour": "red"},
        {"colour": "is not a known field"},
    ),
    (
        Role.AGENT,
        "POST",
        "/api/contacts",
        {"name": "Ann", "phones": ["+14155550100", "call me maybe"]},
        {"phones.1": "is not a phone number: write it in international form, e.g. +14155550100"},
    ),
    (
        Role.AGENT,
        "POST",
        "/api/contacts",
        {"name": " ", "tags": ["a", "a"], "custom_fields": {"bad key!": 1, "ok": [1]}},
        {
            "name": "must not be empty",
            "tags.1": "is a duplicate",
            "custom_fields.bad key!": (
                "is not a valid name: names are 1-64 letters, digits, spaces, . _ -"
            ),
            "custom_fields.ok": "must be text, a number or true/false",
        },
    ),
    (Role.AGENT, "POST", "/api/contacts", [1, 2], {"body": "must be a JSON object"}),
    (Role.AGENT, "POST", "/api/calls/dial", {"number": 42}, {"number": "must be a string"}),
    (
        Role.AGENT,
        "POST",
        "/api/calls/dial",
        {"number": "0800-FLOWERS"},
        {"number": "must be a number to dial: digits (and * #), optionally starting with +"},
    ),
    (Role.AGENT, "GET", "/api/calls?limit=lots", None, {"limit": "must be a whole number"}),
    (Role.AGENT, "GET", "/api/calls?limit=0", None, {"limit": "must be at least 1"}),
    (Role.AGENT, "GET", "/api/contacts/by-phone", None, {"number": "is required"}),
    (
        Role.ADMIN,
        "POST",
        "/api/queues",
        {"name": "stats"},  # its PUT would be the live figures' path
        {"name": ("must be 1-64 lowercase letters, digits, - or _, starting with a letter or "
                  "digit (not stats)")},
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/queues",
        {"name": "Sales Team", "ring_timeout": -1, "strategy": "fastest"},
        {
            "name": (
                "must be 1-64 lowercase letters, digits, - or _, starting with a letter or digit "
                "(not stats)"
            ),
            "ring_timeout": "must be at least 1",
            "strategy": (
                "must be one of ringall, longest-idle, fewest-calls, round-robin, random, linear"
            ),
        },
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/queues",
        {"name": "vip", "escalation": [{"after": 60}, {"after": 30}]},
        {"escalation": "escalation steps must be in increasing `after`"},
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/queues",
        {"name": "vip", "overflow": {"kind": "queue"}},
        {"overflow.target": "is required"},
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/queues",
        {"name": "vip", "service_level_mode": "sl3", "short_abandon": -2},
        {
            "service_level_mode": (
                "must be one of answered, answered-and-abandoned, without-short-abandons"
            ),
            "short_abandon": "must be at least 0",
        },
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/users",
        {"username": "agent", "display_name": "Again", "role": "agent", "password": "long enough"},
        {"username": "is already taken"},
    ),
    (
        Role.ADMIN,
        "POST",
        "/api/users",
        {"username": "new", "display_name": "New", "role": "boss", "password": "x"},
        {"role": "must be one of agent, supervisor, manager, admin"},
    ),
    (
        Role.ADMIN,
        "PUT",
        "/api/users/{agent}/agent",
        {"skills": {"english": 120}, "queues": ["support", "nowhere"]},
        {"skills.english": "must be at most 100"},
    ),
    (
        Role.ADMIN,
        "PUT",
        "/api/users/{agent}/agent",
        {"skills": {"english": 90}, "queues": ["support", "nowhere"]},
        {"queues": "unknown queue: nowhere"},
    ),
    (Role.ADMIN, "POST", "/api/dispositions", {"name": "Sale"}, {"name": "is already taken"}),
    (
        Role.ADMIN,
        "PUT",
        "/api/ivr/flows/main",
        {"yaml": "flows:\n  main:\n    entry: nowhere\n"},
        {},  # checked below: the problems come with their lines
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]} {c[2]} {i}" for i, c in enumerate(CASES)])
async def test_invalid_input_names_each_field(
    world: World, case: tuple[Role, str, str, Any, dict[str, str]]
) -> None:
    role, method, path, body, fields = case
    who = await world.log_in(world.person("acme", role))
    path = path.replace("{agent}", str(world.person("acme", Role.AGENT).user_id))
    response = await world.request(who, method, path, body)
    reply = await response.json()
    assert response.status == 400, reply
    assert reply["error"] == "invalid"
    if fields:
        assert reply["fields"] == fields
    else:
        assert reply["problems"][0]["line"] >= 1
        assert "yaml" in reply["fields"]


async def test_a_body_that_is_not_json(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    for data, content_type, message in [
        (b"{nope", "application/json", "must be valid JSON"),
        (
            b"name=x",
            "application/x-www-form-urlencoded",
            "must be JSON (Content-Type: application/json)",
        ),
        (b"\xff\xfe", "application/json", "must be valid JSON"),
    ]:
        response = await world.client.post(
            "/api/contacts", data=data, headers={**agent.headers, "Content-Type": content_type}
        )
        assert response.status == 400
        assert (await response.json())["fields"] == {"body": message}


async def test_an_unknown_api_path_is_json_404(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", "/api/nothing/here")
    assert response.status == 404
    assert (await response.json())["error"] == "not-found"
    response = await world.request(agent, "GET", "/api/contacts/not-a-number")
    assert response.status == 404


def _random_value(rng: random.Random, depth: int = 0, huge: bool = True) -> Any:
    kinds = ["str", "int", "float", "bool", "none", "list", "dict", "weird"]
    if huge:
        kinds.append("huge")
    kind = rng.choice(kinds if depth < 3 else kinds[:5])
    if kind == "str":
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 12)))
    if kind == "int":
        return rng.choice([0, -1, 1, 2**63, -(2**70), rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e308, rng.random() * 1e6])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "huge":
        return "9" * rng.choice([100, 5000])
    if kind == "weird":
        return rng.choice(["\x00", "\u202e", "../../etc/passwd", "' OR 1=1 --", "+" * 40, "١٢٣"])
    return {
        rng.choice(["name", "phones", "state", "kind", "x", "", "\x00"]): _random_value(
            rng, depth + 1
        )
        for _ in range(rng.randint(0, 4))
    }


def _random_body(rng: random.Random, fields: list[str], huge: bool) -> Any:
    if rng.random() < 0.15:
        return _random_value(rng, huge=huge)
    return {
        rng.choice([*fields, "extra"]): _random_value(rng, huge=huge)
        for _ in range(rng.randint(0, len(fields) + 1))
    }


async def test_random_bodies_never_crash_the_server(world: World) -> None:
    """Every route with a body or query, 40 random payloads each: any answer but a 5xx."""
    rng = random.Random(20261123)
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent_id = world.person("acme", Role.AGENT).user_id
    call = world.center.add_call(world.tenant_ids["acme"], agent_user_id=admin.user_id)
    ids = {
        "{call_id}": call.call_id,
        "{user_id}": str(agent_id),
        "{contact_id}": str(world.contact_ids["acme"]),
        "{disposition_id}": str(world.disposition_ids["acme:Sale"]),
        "{name}": "support",
    }
    checked = 0
    for route in ROUTE_TABLE:
        if route.kind is not Kind.API or (route.body is None and route.query is None):
            continue
        path = route.path
        for placeholder, value in ids.items():
            path = path.replace(placeholder, value)
        for _ in range(40):
            who: Person = admin
            if route.body is not None:
                huge = True
                body = _random_body(rng, list(route.body.fields), huge)
                response = await world.request(who, route.method, path, body)
            else:
                assert route.query is not None
                query = {
                    name: str(_random_value(rng))[:50]
                    for name in route.query.fields
                    if rng.random() < 0.8
                }
                response = await world.request(who, route.method, path, params=query)
            assert response.status < 500, (route.path, await response.text())
            checked += 1
        # Undo what a lucky payload may have changed for the next routes.
        world.center.calls[call.call_id] = (world.tenant_ids["acme"], call)
    assert checked > 600


async def test_a_huge_number_in_a_flow_is_a_problem_not_a_crash(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(
        admin, "POST", "/api/ivr/flows/main/validate", {"yaml": "9" * 5000}
    )
    assert response.status == 200
    assert not (await response.json())["valid"]


async def test_deeply_nested_json_is_refused_not_crashed(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    data = b"[" * 200_000 + b"]" * 200_000
    response = await world.client.post(
        "/api/contacts", data=data, headers={**agent.headers, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["fields"] == {"body": "must be valid JSON"}


# Each of these answered 500 (issue 11, finding 7): the value reached the database or date
# arithmetic unchecked. Now the route's shape refuses it and names the field.
OVERFLOWS: list[tuple[Role, str, str, Any, dict[str, str]]] = [
    (Role.SUPERVISOR, "GET", "/api/recordings?agent=" + "9" * 30, None,
     {"agent": "must be at most 2147483647"}),
    (Role.SUPERVISOR, "GET", "/api/reports?from=9999-12-31&to=9999-12-31", None,
     {"from": "must be a date from 1970-01-01 to 2999-12-31",
      "to": "must be a date from 1970-01-01 to 2999-12-31"}),
    (Role.SUPERVISOR, "GET", "/api/reports/csv?table=days&to=0001-01-01", None,
     {"to": "must be a date from 1970-01-01 to 2999-12-31"}),
    (Role.AGENT, "GET", "/api/calls?limit=" + "9" * 5000, None,
     {"limit": "must be a whole number"}),
]


@pytest.mark.parametrize("case", OVERFLOWS, ids=[c[2][:40] for c in OVERFLOWS])
async def test_out_of_range_numbers_and_dates_name_the_field(
    world: World, caplog: pytest.LogCaptureFixture,
    case: tuple[Role, str, str, Any, dict[str, str]],
) -> None:
    role, method, path, body, fields = case
    who = await world.log_in(world.person("acme", role))
    response = await world.request(who, method, path, body)
    assert response.status == 400, await response.text()
    assert (await response.json())["fields"] == fields
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        # Over 4,300 digits Python refuses to read the number at all (ValueError in json.loads).
        ('{"name": "Ann", "custom_fields": {"account": ' + "9" * 5000 + "}}",
         "custom_fields.account", "must be between -9007199254740991 and 9007199254740991"),
        ('{"name": "Ann", "custom_fields": {"account": -' + "9" * 5000 + "}}",
         "custom_fields.account", "must be between -9007199254740991 and 9007199254740991"),
        ('{"name": "Ann", "custom_fields": {"account": ' + "9" * 30 + "}}",
         "custom_fields.account", "must be between -9007199254740991 and 9007199254740991"),
        ('{"name": "Ann", "custom_fields": {"account": 1e400}}',
         "custom_fields.account", "must be text, a number or true/false"),
        ('{"name": "Ann", "custom_fields": {"account": "' + "9" * 5000 + '"}}',
         "custom_fields.account", "must be at most 1000 characters"),
    ],
    ids=["5000-digits", "minus-5000-digits", "30-digits", "1e400", "5000-characters"],
)
async def test_a_huge_custom_field_names_the_field(
    world: World, caplog: pytest.LogCaptureFixture, raw: str, field: str, message: str
) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.client.post(
        "/api/contacts", data=raw.encode(),
        headers={**agent.headers, "Content-Type": "application/json"},
    )
    assert response.status == 400, await response.text()
    assert (await response.json())["fields"] == {field: message}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("segment", ["²", "٣", "1²", "99999999999", "2147483648"])
async def test_an_id_that_is_no_database_id_is_not_found(
    world: World, caplog: pytest.LogCaptureFixture, segment: str
) -> None:
    # "²".isdigit() is true but int("²") raises: that was a 500. Past the database's integer
    # range PostgreSQL refuses the query: also a 500 there.
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", f"/api/contacts/{segment}")
    assert response.status == 404, await response.text()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("target", ["²", "99999999999999999999"])
async def test_a_transfer_to_no_user_id_names_the_target(
    world: World, caplog: pytest.LogCaptureFixture, target: str
) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    call = world.center.add_call(world.tenant_ids["acme"], agent_user_id=agent.user_id)
    response = await world.request(agent, "POST", f"/api/calls/{call.call_id}/transfer",
                                   {"kind": "agent", "target": target})
    assert response.status == 400, await response.text()
    assert (await response.json())["fields"] == {"target": "must be the user id of an agent"}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("multipart/form-data", b"csrf_token=x&username=y"),  # no boundary: was a 500
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"username=y"),
        ("application/x-www-form-urlencoded", b"username=\xff\xfe"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nno headers, no end"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n"
                                              b"\r\nvalue\r\n--xyz--\r\n"),
    ],
    ids=["multipart-without-boundary", "unknown-charset", "not-utf-8", "multipart-cut",
         "multipart-part-without-name"],
)
async def test_a_form_that_cannot_be_read_is_a_400(
    world: World, caplog: pytest.LogCaptureFixture, content_type: str, data: bytes
) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    login = await world.client.post("/login", data=data, headers={"Content-Type": content_type},
                                    allow_redirects=False)
    # A form-checked change without the CSRF header: the token is looked for in the form.
    change = await world.client.post(
        "/api/contacts", data=data,
        headers={"Cookie": agent.headers["Cookie"], "Content-Type": content_type},
    )
    for response in (login, change):
        assert response.status == 400, await response.text()
        assert "body" in (await response.json())["fields"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_malformed_http_request_is_one_warning_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = world.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /api/me HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
    await writer.drain()
    answer = await reader.read(200)
    writer.close()
    assert answer.split(b" ")[1] == b"400", answer
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
    assert any("malformed HTTP request" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/api/me", "GET"),
    ("DELETE", "/api/contacts", "GET,POST"),
    ("PUT", "/login", "GET,POST"),
])
async def test_a_method_a_path_does_not_take_is_405_with_allow(
    world: World, method: str, path: str, allow: str
) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, method, path)
    assert response.status == 405
    assert sorted(response.headers["Allow"].split(",")) == allow.split(",")


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/calls/dial", "POST"),  # was get_call of a call named "dial"
    ("OPTIONS", "/api/queues/stats", "GET"),  # was GET,PUT: the PUT of a queue named "stats"
    ("PUT", "/api/contacts/by-phone", "GET"),
])
async def test_a_literal_path_wins_over_a_template_for_every_method(
    world: World, method: str, path: str, allow: str
) -> None:
    # As the OpenAPI document reads the table: /api/calls/dial is its own path, not a call id.
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, method, path)
    assert response.status == 405, await response.text()
    assert response.headers["Allow"] == allow
