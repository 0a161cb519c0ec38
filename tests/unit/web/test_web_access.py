"""Every route of the route table, as every role and as the other tenant: refused or served.

For each route: a visitor without a session is refused (401, or the login page for pages);
each role outside the route's roles gets 403; each role inside gets a success; a user of the
other tenant never sees this tenant's objects (404 for an object in the path) and no response
of theirs carries this tenant's data. A new route without a sample here fails the test, so the
table and its test cannot drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from web_world import FAST_HASHER, PASSWORD, Person, World, build_world, close_world

from pbx_stasis.center.service import CallState
from pbx_stasis.crm.contacts import ContactDraft
from pbx_stasis.plugins import WEB_ROUTES as ROUTE_TABLE
from pbx_stasis.store.tables import Role, User
from pbx_stasis.web.routing import Kind, Route
from pbx_stasis.webhooks.service import WEBHOOKS
from pbx_stasis.webhooks.tables import WebhookDelivery

OWNER = "acme"
OTHER = "globex"
# Strings only the owner tenant's data contains: a response to the other tenant must have none.
OWNER_MARKERS = ("(acme)", "Acme", "a" * 32, "b" * 32)
SUCCESS = {200, 201, 204, 303}
# Supervision and recording routes need the live app's objects: tests/unit/supervision and
# tests/unit/recording run the same every-role x both-tenants checks over theirs.
_unique = itertools.count(1)


@dataclass
class Ask:
    path: str
    json: Any = None
    owns_object: bool = False  # the path names an object of the owner tenant


Sample = Callable[[World, Person], Awaitable[Ask]]


def _call_owner(world: World, who: Person) -> int:
    # The agent's own call when they are of the owner tenant, else the owner's agent's call.
    if who.tenant == OWNER:
        return who.user_id
    return world.person(OWNER, Role.AGENT).user_id


def control(
    verb: str, state: CallState = CallState.TALKING, held: bool = False, body: Any = None
) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        call = world.center.add_call(
            world.tenant_ids[OWNER], agent_user_id=_call_owner(world, who), state=state
        )
        if held:
            held_call = replace(call, held=True, state=CallState.HELD)
            world.center.calls[call.call_id] = (world.tenant_ids[OWNER], held_call)
        return Ask(f"/api/calls/{call.call_id}/{verb}", body, owns_object=True)

    return make


def fixed(path: str, body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        return Ask(path, body)

    return make


async def _db_call(world: World, who: Person) -> Ask:
    call_id = f"{next(_unique):032x}"
    owner = world.person(OWNER, Role.AGENT) if who.tenant != OWNER else who
    await world.add_call(OWNER, call_id=call_id, from_number="+14155550100", agent=owner)
    return Ask(f"/api/calls/{call_id}", owns_object=True)


async def _disposition_call(world: World, who: Person) -> Ask:
    ask = await _db_call(world, who)
    return Ask(f"{ask.path}/disposition", {"disposition": "Resolved", "notes": "ok"}, True)


async def _contact(world: World, who: Person) -> Ask:
    return Ask(f"/api/contacts/{world.contact_ids[OWNER]}", owns_object=True)


async def _contact_update(world: World, who: Person) -> Ask:
    body = {"name": "Ada Lovelace (acme)", "phones": ["+14155550100"], "tags": ["vip"]}
    return Ask(f"/api/contacts/{world.contact_ids[OWNER]}", body, owns_object=True)


async def _contact_delete(world: World, who: Person) -> Ask:
    contact = await world.crm.contacts.create(
        world.tenant_ids[OWNER], ContactDraft(name=f"Temp (acme) {next(_unique)}")
    )
    return Ask(f"/api/contacts/{contact.id}", owns_object=True)


async def _disposition_update(world: World, who: Person) -> Ask:
    item_id = world.disposition_ids[f"{OWNER}:Sale"]
    body = {"name": "Sale", "requires_follow_up": False, "position": 3, "active": True}
    return Ask(f"/api/dispositions/{item_id}", body, owns_object=True)


async def _disposition_retire(world: World, who: Person) -> Ask:
    item = await world.crm.dispositions.create(world.tenant_ids[OWNER], f"Tmp{next(_unique)}")
    return Ask(f"/api/dispositions/{item.id}", owns_object=True)


async def _flow_get(world: World, who: Person) -> Ask:
    tenant_id = world.tenant_ids[OWNER]
    if not world.center.flow_versions.get((tenant_id, "main")):
        await world.center.apply_flow(tenant_id, "main", VALID_FLOW, 0)
    return Ask("/api/ivr/flows/main", owns_object=True)


async def _flow_validate(world: World, who: Person) -> Ask:
    # Validating a flow of one's own tenant with the same name is not a leak: any admin may
    # validate any text. The check here is the role.
    return Ask("/api/ivr/flows/main/validate", {"yaml": VALID_FLOW})


async def _flow_apply(world: World, who: Person) -> Ask:
    return Ask("/api/ivr/flows/main", {"yaml": VALID_FLOW})


def _user(suffix: str, body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        target = world.person(OWNER, Role.AGENT).user_id
        return Ask(f"/api/users/{target}{suffix}", body, owns_object=True)

    return make


async def _agent_state(world: World, who: Person) -> Ask:
    target = world.person(OWNER, Role.AGENT).user_id
    return Ask(f"/api/agents/{target}/state", {"state": "offline"}, owns_object=True)


async def _new_user(world: World, who: Person) -> Ask:
    body = {
        "username": f"new{next(_unique)}",
        "display_name": "New Person",
        "role": "agent",
        "password": "long enough password",
    }
    return Ask("/api/users", body)


async def _password_change(world: World, who: Person) -> Ask:
    # The world's password again first: an earlier ask may have changed it.
    async with world.db.transaction() as tx:
        user = await tx.get(User, who.user_id)
        assert user is not None
        user.password_hash = FAST_HASHER.hash(PASSWORD)
    return Ask("/api/me/password",
               {"current_password": PASSWORD, "new_password": f"changed {next(_unique):08d}"})


async def _new_queue(world: World, who: Person) -> Ask:
    return Ask("/api/queues", {"name": f"q{next(_unique)}", "strategy": "ringall"})


async def _new_disposition(world: World, who: Person) -> Ask:
    return Ask("/api/dispositions", {"name": f"Outcome {next(_unique)}"})


async def _token(world: World, who: Person) -> Ask:
    admin = world.person(OWNER, Role.ADMIN)
    record, _ = await world.site.tokens.create(admin.tenant_id, admin.user_id,
                                               f"sync {next(_unique)}", Role.AGENT)
    return Ask(f"/api/tokens/{record.id}", owns_object=True)


HOOK = {"url": "https://hooks.example.com/pbx", "events": ["call.ended"]}


def _webhook(suffix: str = "", body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        record, _ = await world.app[WEBHOOKS].create(
            world.tenant_ids[OWNER], HOOK["url"], HOOK["events"], "admin")
        return Ask(f"/api/webhooks/{record.id}{suffix}", body, owns_object=True)

    return make


async def _replay(world: World, who: Person) -> Ask:
    ask = await _webhook()(world, who)
    webhook_id = int(ask.path.rsplit("/", 1)[1])
    delivery_id = f"evt_{next(_unique):024x}"
    now = datetime.now(UTC)
    async with world.db.transaction() as tx:
        tx.add(WebhookDelivery(
            id=delivery_id, subscription_id=webhook_id, tenant_id=world.tenant_ids[OWNER],
            event="call.ended", body='{"id":"x"}', created_at=now, status="failed",
            attempts=3, next_try_at=None, retry_until=now))
    return Ask(f"{ask.path}/deliveries/{delivery_id}/replay", owns_object=True)


VALID_FLOW = """flows:
  main:
    dids: ["+15555550100"]
    entry: bye
    nodes:
      bye:
        kind: hangup
"""

SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/"): fixed("/"),
    ("GET", "/login"): fixed("/login"),
    ("POST", "/login"): fixed("/login"),
    ("POST", "/logout"): fixed("/logout"),
    ("POST", "/logout/everywhere"): fixed("/logout/everywhere"),
    ("GET", "/agent"): fixed("/agent"),
    ("GET", "/wallboard"): fixed("/wallboard"),
    ("GET", "/reports"): fixed("/reports"),
    ("GET", "/admin/users"): fixed("/admin/users"),
    ("GET", "/admin/queues"): fixed("/admin/queues"),
    ("GET", "/admin/dispositions"): fixed("/admin/dispositions"),
    ("GET", "/admin/ivr"): fixed("/admin/ivr"),
    ("GET", "/api/openapi.json"): fixed("/api/openapi.json"),
    ("GET", "/api/me"): fixed("/api/me"),
    ("GET", "/api/me/agent"): fixed("/api/me/agent"),
    ("PUT", "/api/me/agent/state"): fixed("/api/me/agent/state", {"state": "available"}),
    ("PUT", "/api/agents/{user_id}/state"): _agent_state,
    ("GET", "/api/me/sip"): fixed("/api/me/sip"),
    ("POST", "/api/me/password"): _password_change,
    ("GET", "/api/wallboard"): fixed("/api/wallboard"),
    ("GET", "/api/agents"): fixed("/api/agents"),
    ("GET", "/api/reports"): fixed("/api/reports"),
    ("GET", "/api/reports/csv"): fixed("/api/reports/csv?table=agents"),
    ("GET", "/api/queues"): fixed("/api/queues"),
    ("POST", "/api/queues"): _new_queue,
    ("GET", "/api/queues/stats"): fixed("/api/queues/stats"),
    ("PUT", "/api/queues/{name}"): fixed("/api/queues/support", {"wrapup": 20}),
    ("GET", "/api/calls/live"): fixed("/api/calls/live"),
    ("GET", "/api/calls"): fixed("/api/calls"),
    ("GET", "/api/calls/{call_id}"): _db_call,
    ("POST", "/api/calls/dial"): fixed("/api/calls/dial", {"number": "+14155550123"}),
    ("POST", "/api/calls/{call_id}/hangup"): control("hangup"),
    ("POST", "/api/calls/{call_id}/hold"): control("hold"),
    ("POST", "/api/calls/{call_id}/unhold"): control("unhold", held=True),
    ("POST", "/api/calls/{call_id}/mute"): control("mute"),
    ("POST", "/api/calls/{call_id}/unmute"): control("unmute"),
    ("POST", "/api/calls/{call_id}/transfer"): control(
        "transfer", body={"kind": "queue", "target": "sales", "attended": False}
    ),
    ("POST", "/api/calls/{call_id}/transfer/complete"): control(
        "transfer/complete", CallState.CONSULTING
    ),
    ("POST", "/api/calls/{call_id}/transfer/cancel"): control(
        "transfer/cancel", CallState.CONSULTING
    ),
    ("POST", "/api/calls/{call_id}/dtmf"): control("dtmf", body={"digits": "12#"}),
    ("PUT", "/api/calls/{call_id}/disposition"): _disposition_call,
    ("GET", "/api/contacts"): fixed("/api/contacts?q=ada"),
    ("POST", "/api/contacts"): fixed(
        "/api/contacts", {"name": "Grace Hopper", "phones": ["+1 (202) 555-0111"]}
    ),
    ("GET", "/api/contacts/by-phone"): fixed("/api/contacts/by-phone?number=%2B14155550100"),
    ("GET", "/api/contacts/{contact_id}"): _contact,
    ("PUT", "/api/contacts/{contact_id}"): _contact_update,
    ("DELETE", "/api/contacts/{contact_id}"): _contact_delete,
    ("GET", "/api/dispositions"): fixed("/api/dispositions"),
    ("POST", "/api/dispositions"): _new_disposition,
    ("PUT", "/api/dispositions/{disposition_id}"): _disposition_update,
    ("DELETE", "/api/dispositions/{disposition_id}"): _disposition_retire,
    ("GET", "/api/ivr/flows"): fixed("/api/ivr/flows"),
    ("GET", "/api/ivr/flows/{name}"): _flow_get,
    ("POST", "/api/ivr/flows/{name}/validate"): _flow_validate,
    ("PUT", "/api/ivr/flows/{name}"): _flow_apply,
    ("GET", "/api/users"): fixed("/api/users"),
    ("POST", "/api/users"): _new_user,
    ("PATCH", "/api/users/{user_id}"): _user("", {"display_name": "Agent of Acme"}),
    ("GET", "/api/users/{user_id}/agent"): _user("/agent"),
    ("PUT", "/api/users/{user_id}/agent"): _user(
        "/agent", {"skills": {"english": 80}, "queues": ["support"]}
    ),
    ("POST", "/api/users/{user_id}/sip-password"): _user("/sip-password"),
    ("GET", "/api/dialing/policy"): fixed("/api/dialing/policy"),
    ("PUT", "/api/dialing/policy"): fixed("/api/dialing/policy", {"countries": ["US", "CA"]}),
    ("GET", "/api/dialing/check"): fixed("/api/dialing/check?number=%2B19005550123"),
    ("GET", "/api/dialing/caller-ids"): fixed("/api/dialing/caller-ids"),
    ("PUT", "/api/dialing/caller-ids"): fixed(
        "/api/dialing/caller-ids", {"numbers": [{"number": "+14155550100", "label": "Sales"}]}),
    ("GET", "/ws"): fixed("/ws"),
    ("GET", "/api/tokens"): fixed("/api/tokens"),
    ("POST", "/api/tokens"): fixed("/api/tokens", {"name": "CRM sync", "role": "agent"}),
    ("DELETE", "/api/tokens/{token_id}"): _token,
    ("GET", "/admin/integrations"): fixed("/admin/integrations"),
    ("GET", "/api/webhooks"): fixed("/api/webhooks"),
    ("POST", "/api/webhooks"): fixed("/api/webhooks", HOOK),
    ("GET", "/api/webhooks/{webhook_id}"): _webhook(),
    ("PATCH", "/api/webhooks/{webhook_id}"): _webhook("", {"active": False}),
    ("DELETE", "/api/webhooks/{webhook_id}"): _webhook(),
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): _webhook("/deliveries"),
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): _replay,
}


def test_every_route_has_a_sample() -> None:
    table = {(route.method, route.path) for route in ROUTE_TABLE}
    assert table == set(SAMPLES), (
        f"routes without a sample: {sorted(table - set(SAMPLES))}; "
        f"samples without a route: {sorted(set(SAMPLES) - table)}"
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    built = await build_world(sqlite_template, tmp_path_factory.mktemp("access"))
    try:
        yield built
    finally:
        await close_world(built)


async def _send(world: World, who: Person | None, route: Route, ask: Ask) -> tuple[int, str]:
    if route.kind is Kind.SOCKET:
        headers = who.headers if who is not None else {}
        try:
            socket = await world.client.ws_connect(ask.path, headers=headers)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status, ""
        hello = await socket.receive_json(timeout=5)
        await socket.close()
        return 101, str(hello)
    response = await world.request(who, route.method, ask.path, ask.json)
    return response.status, await response.text()


async def _fresh(world: World, tenant: str, role: Role) -> Person:
    person = world.person(tenant, role)
    agent = world.center.agent_records[(person.tenant_id, person.user_id)]
    # Every run starts from an idle agent, whatever earlier samples did to them.
    agent.state = agent.state.__class__("offline")
    agent.call_id = None
    agent.wrapup_released = True
    return await world.log_in(person)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "route", ROUTE_TABLE, ids=[f"{route.method} {route.path}" for route in ROUTE_TABLE]
)
async def test_route_access(shared_world: World, route: Route) -> None:
    world = shared_world
    sample = SAMPLES[(route.method, route.path)]
    some_owner = await _fresh(world, OWNER, Role.ADMIN)

    ask = await sample(world, some_owner)
    status, _ = await _send(world, None, route, ask)
    if route.roles is None:
        assert status not in (401, 403), f"public route refused anonymous: {status}"
        return
    if route.kind is Kind.PAGE and route.method == "GET":
        assert status == 303, f"anonymous page view: {status}"
    else:
        assert status == 401, f"anonymous: {status}"

    for role in Role:
        who = await _fresh(world, OWNER, role)
        ask = await sample(world, who)
        status, text = await _send(world, who, route, ask)
        if role in route.roles:
            expected = {101} if route.kind is Kind.SOCKET else SUCCESS
            assert status in expected, f"{role} refused: {status} {text[:300]}"
        else:
            assert status == 403, f"{role} not refused: {status} {text[:300]}"

    for role in sorted(route.roles, key=lambda r: r.value):
        stranger = await _fresh(world, OTHER, role)
        ask = await sample(world, stranger)
        status, text = await _send(world, stranger, route, ask)
        if ask.owns_object:
            assert status == 404, f"{role} of {OTHER} reached {OWNER}'s object: {status} {text}"
        leaked = [marker for marker in OWNER_MARKERS if marker in text]
        assert not leaked, f"{role} of {OTHER} saw {OWNER}'s data {leaked}: {text[:300]}"
