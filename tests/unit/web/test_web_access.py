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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from analytics_samples import measured_call, transcribed_recording
from evaluation_samples import ANSWERS, agents_recording, evaluation, scorecard
from voicemail_samples import voicemail
from web_world import FAST_HASHER, PASSWORD, Person, World, build_world, close_world

from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.callbacks.tables import CallbackSource
from pbx_stasis.campaigns.core import CampaignSettings, Mode
from pbx_stasis.campaigns.service import Campaigns
from pbx_stasis.center.service import CallState
from pbx_stasis.crm.contacts import ContactDraft
from pbx_stasis.evaluations.service import EVALUATIONS
from pbx_stasis.leads.service import LEADS, TaskDraft
from pbx_stasis.plugins import WEB_ROUTES as ROUTE_TABLE
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Role, User
from pbx_stasis.virtualnumbers.service import VIRTUAL_NUMBERS, PoolNumber
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
VIRTUAL_POOL = [PoolNumber("+14155550160", "Riders (acme)")]


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


async def _contact_crm_link(world: World, who: Person) -> Ask:
    return Ask(f"/api/contacts/{world.contact_ids[OWNER]}/crm-link", owns_object=True)


async def _contact_virtual_number(world: World, who: Person) -> Ask:
    await world.app[VIRTUAL_NUMBERS].set_pool(world.tenant_ids[OWNER], VIRTUAL_POOL)
    return Ask(f"/api/contacts/{world.contact_ids[OWNER]}/virtual-number", owns_object=True)


async def _masked_call(world: World, who: Person) -> Ask:
    await world.app[VIRTUAL_NUMBERS].set_pool(world.tenant_ids[OWNER], VIRTUAL_POOL)
    n = next(_unique)
    return Ask("/api/masked-calls", {"party_a": f"+1415555{2000 + 2 * n:04d}",
                                     "party_b": f"+1415555{2001 + 2 * n:04d}",
                                     "ttl_seconds": 600, "reference": "ride (acme)"})


async def _masked_call_revoke(world: World, who: Person) -> Ask:
    """A live mapping of the owner tenant, one per ask (a revoked one is gone: 409)."""
    store = world.app[VIRTUAL_NUMBERS]
    await store.set_pool(world.tenant_ids[OWNER], VIRTUAL_POOL)
    n = next(_unique)
    row = await store.create_mapping(
        world.tenant_ids[OWNER], f"+1415556{2000 + 2 * n:04d}", f"+1415556{2001 + 2 * n:04d}",
        ttl=timedelta(minutes=10), virtual=None, reference="ride (acme)", by="test")
    return Ask(f"/api/masked-calls/{row.id}", owns_object=True)


async def _dial_by(world: World, who: Person) -> Ask:
    return Ask("/api/calls/dial-by", {"contact_id": world.contact_ids[OWNER], "phone": 0})


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


async def _lead_list(world: World) -> int:
    """The owner tenant's lead list (made once)."""
    leads = world.app[LEADS]
    tenant_id = world.tenant_ids[OWNER]
    found = [item for item in await leads.lists.lists(tenant_id) if item.name == "Leads (acme)"]
    if found:
        return found[0].id
    view, _ = await leads.lists.import_csv(tenant_id, "name,phone\nAda (acme),+14155550100\n",
                                           by="test", region="US", name="Leads (acme)")
    return view.id


def _leads(suffix: str, body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        return Ask(f"/api/leads/lists/{await _lead_list(world)}{suffix}", body, True)

    return make


async def _new_list(world: World, who: Person) -> Ask:
    return Ask("/api/leads/lists", {"name": f"List {next(_unique)}",
                                    "csv": "phone\n+14155550100\n"})


def _task(suffix: str = "", body: Any = None) -> Sample:
    """A fresh task of the owner tenant, the asking agent's own (or the owner's agent's)."""

    async def make(world: World, who: Person) -> Ask:
        task = await world.app[LEADS].tasks.create(world.tenant_ids[OWNER], TaskDraft(
            number="+14155550100", name="Ada (acme)", due_at=utc_now(),
            owner_user_id=_call_owner(world, who)), by="test", source="api")
        return Ask(f"/api/tasks/{task.id}{suffix}", body, owns_object=True)

    return make


def _campaign(suffix: str = "", body: Any = None, *, preview: bool = False,
              reserve: bool = False, started: bool = False) -> Sample:
    """A fresh campaign of the owner tenant over its lead list (a running preview one, with a
    lead reserved for the asking person, or the owner's agent, when `reserve`)."""

    async def make(world: World, who: Person) -> Ask:
        store = Campaigns(world.db)
        tenant_id = world.tenant_ids[OWNER]
        list_id = await _lead_list(world)
        made = await store.create(tenant_id, CampaignSettings(
            name=f"Campaign (acme) {next(_unique)}", list_id=list_id, queue="support",
            mode=Mode.PREVIEW if preview else Mode.PROGRESSIVE), by="test")
        if preview or started:
            made = await store.command(tenant_id, made.id, "start") or made
            await world.app[LEADS].lists.import_csv(
                tenant_id, f"phone\n+1415556{next(_unique) % 10_000:04d}\n", by="test",
                region="US", list_id=list_id)
        path = f"/api/campaigns/{made.id}{suffix}"
        if reserve:
            [pick] = await store.claim(made, 1, now=utc_now(),
                                       agent_user_id=_call_owner(world, who))
            path = path.replace("{attempt_id}", str(pick.attempt_id))
        return Ask(path, body, owns_object=True)

    return make


CAMPAIGN = {"name": "Spring (acme)", "queue": "support", "mode": "predictive"}


async def _new_campaign(world: World, who: Person) -> Ask:
    return Ask("/api/campaigns", {**CAMPAIGN, "name": f"Spring {next(_unique)}",
                                  "list_id": await _lead_list(world)})


async def _campaign_update(world: World, who: Person) -> Ask:
    ask = await _campaign()(world, who)
    return Ask(ask.path, {**CAMPAIGN, "name": f"Renamed (acme) {next(_unique)}",
                          "list_id": await _lead_list(world)}, owns_object=True)


async def _dnc_entry(world: World, who: Person) -> Ask:
    number = f"+1415555{next(_unique) % 10_000:04d}"
    await world.app[LEADS].compliance.add(world.tenant_ids[OWNER], [(number, "(acme)")],
                                          source="api", by="test")
    return Ask(f"/api/dnc/%2B{number[1:]}", owns_object=True)




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


async def _callback_cancel(world: World, who: Person) -> Ask:
    """A scheduled callback of the owner tenant (asked by `who` when they are of it)."""
    callback = await CallbackStore(world.db).create(
        tenant_id=world.tenant_ids[OWNER], queue="support", number="+14155550100",
        contact="Ada Lovelace (acme)", source=CallbackSource.API,
        due_at=datetime.now(UTC) + timedelta(hours=1),
        requested_by=who.user_id if who.tenant == OWNER else None)
    return Ask(f"/api/callbacks/{callback.id}", owns_object=True)


async def _new_disposition(world: World, who: Person) -> Ask:
    return Ask("/api/dispositions", {"name": f"Outcome {next(_unique)}"})


async def _timeline(world: World, who: Person) -> Ask:
    return Ask(f"/api/contacts/{world.contact_ids[OWNER]}/timeline", owns_object=True)


async def _contact_page(world: World, who: Person) -> Ask:
    return Ask(f"/contacts/{world.contact_ids[OWNER]}", owns_object=True)


async def _owner_ticket(world: World) -> int:
    """A ticket of the owner's support queue, assigned to its agent (every role may reach it)."""
    from pbx_stasis.tickets.service import TICKETS, TicketDraft

    agent = world.person(OWNER, Role.AGENT)
    ticket = await world.app[TICKETS].create(
        world.tenant_ids[OWNER], TicketDraft(subject="Router down (acme)", queue="support",
                                             assignee_user_id=agent.user_id,
                                             contact_id=world.contact_ids[OWNER]),
        agent.user_id, world.clock())
    return ticket.id


def _ticket(suffix: str = "", body: Any = None, page: bool = False) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        prefix = "/tickets" if page else "/api/tickets"
        return Ask(f"{prefix}/{await _owner_ticket(world)}{suffix}", body, owns_object=True)

    return make


async def _token(world: World, who: Person) -> Ask:
    admin = world.person(OWNER, Role.ADMIN)
    record, _ = await world.site.tokens.create(admin.tenant_id, admin.user_id,
                                               f"sync {next(_unique)}", Role.AGENT)
    return Ask(f"/api/tokens/{record.id}", owns_object=True)


async def _token_rotate(world: World, who: Person) -> Ask:
    ask = await _token(world, who)
    return Ask(f"{ask.path}/rotate", {"overlap_s": 60}, owns_object=True)


HOOK = {"url": "https://hooks.example.com/pbx", "events": ["call.ended"]}


def _webhook(suffix: str = "", body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        record, _ = await world.app[WEBHOOKS].create(
            world.tenant_ids[OWNER], HOOK["url"], HOOK["events"], "admin")
        return Ask(f"/api/webhooks/{record.id}{suffix}", body, owns_object=True)

    return make


async def _ticket_from_call(world: World, who: Person) -> Ask:
    ask = await _db_call(world, who)
    return Ask(f"{ask.path}/ticket", {"subject": "From a call", "priority": "high"}, True)


async def _ticket_link_call(world: World, who: Person) -> Ask:
    call = await _db_call(world, who)
    ticket = await _ticket("/calls")(world, who)
    return Ask(ticket.path, {"call_id": call.path.rsplit("/", 1)[1]}, owns_object=True)


TARGETS = {"low": 10080, "medium": 4320, "high": 1440, "urgent": 240}
SCRIPT = {"headline": "Support (acme)", "queues": ["support"], "opening": "Hello {contact.name}"}


async def _owner_script(world: World) -> str:
    """A script of the owner tenant with two versions (restore needs an older one)."""
    from pbx_stasis.callscripts.core import ScriptBody
    from pbx_stasis.callscripts.service import CALL_SCRIPTS

    name = f"s{next(_unique)}"
    for _ in range(2):
        await world.app[CALL_SCRIPTS].save(world.tenant_ids[OWNER], name,
                                           ScriptBody.model_validate(SCRIPT), None, world.clock())
    return name


def _script(suffix: str = "", body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        return Ask(f"/api/call-scripts/{await _owner_script(world)}{suffix}", body,
                   owns_object=True)

    return make


async def _call_script(world: World, who: Person) -> Ask:
    await _owner_script(world)
    ask = await _db_call(world, who)
    return Ask(f"{ask.path}/script", owns_object=True)


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

def _transcribed(suffix: str) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        recording_id = await transcribed_recording(world, OWNER)
        return Ask(f"/api/recordings/{recording_id}/{suffix}", owns_object=True)

    return make


async def _call_quality(world: World, who: Person) -> Ask:
    return Ask(f"/api/calls/{await measured_call(world, OWNER)}/quality", owns_object=True)


async def _hot_leads(world: World, who: Person) -> Ask:
    await transcribed_recording(world, OWNER)
    return Ask("/api/analytics/hot-leads")


def _scorecard(body: bool = False) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        card = await scorecard(world, OWNER)
        fields = {"name": f"Renamed {card} (acme)", "sections": [{"title": "One", "questions": [
            {"id": "greeting", "text": "Greeted", "kind": "yes-no"}]}]}
        return Ask(f"/api/scorecards/{card}", fields if body else None, owns_object=True)

    return make


def _voicemail(suffix: str = "", body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        voicemail_id = await voicemail(world, OWNER)
        return Ask(f"/api/voicemails/{voicemail_id}{suffix}", body, owns_object=True)

    return make


def _evaluating(draft: bool) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        card = await scorecard(world, OWNER)
        recording = await agents_recording(world, OWNER, world.person(OWNER, Role.AGENT).user_id)
        if draft:
            return Ask(f"/api/recordings/{recording}/evaluation-draft?scorecard_id={card}",
                       owns_object=True)
        return Ask(f"/api/recordings/{recording}/evaluations",
                   {"scorecard_id": card, "answers": ANSWERS}, owns_object=True)

    return make


def _evaluation(suffix: str = "", body: Any = None) -> Sample:
    async def make(world: World, who: Person) -> Ask:
        # The asker's own evaluation (an agent reads and answers their own), else the owner's
        # agent's (the other tenant must not reach it).
        agent = who.user_id if who.tenant == OWNER else world.person(OWNER, Role.AGENT).user_id
        found = await evaluation(world, OWNER, agent)
        sent = body
        if suffix == "" and body is not None:  # a rescore keeps its scorecard
            sent = {**body, "scorecard_id": (await world.app[EVALUATIONS].get(
                world.tenant_ids[OWNER], found, None)).scorecard_id}
        return Ask(f"/api/evaluations/{found}{suffix}", sent, owns_object=True)

    return make


async def _evaluations(world: World, who: Person) -> Ask:
    await evaluation(world, OWNER, world.person(OWNER, Role.AGENT).user_id)
    return Ask("/api/evaluations")
async def _voicemail_assign(world: World, who: Person) -> Ask:
    # An agent may take a message for themselves; the others assign it to the agent.
    agent = world.person(OWNER, Role.AGENT)
    to = who.user_id if who.role is Role.AGENT else agent.user_id
    return await _voicemail("/assignee", {"user_id": to})(world, who)


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/evaluations"): fixed("/evaluations"),
    ("GET", "/api/scorecards"): fixed("/api/scorecards?active=true"),
    ("POST", "/api/scorecards"): fixed("/api/scorecards", {"name": "Sales calls", "sections": [
        {"title": "Opening", "questions": [{"id": "greeting", "text": "Greeted",
                                            "kind": "yes-no"}]}]}),
    ("GET", "/api/scorecards/{scorecard_id}"): _scorecard(),
    ("PUT", "/api/scorecards/{scorecard_id}"): _scorecard(body=True),
    ("GET", "/api/recordings/{recording_id}/evaluation-draft"): _evaluating(draft=True),
    ("POST", "/api/recordings/{recording_id}/evaluations"): _evaluating(draft=False),
    ("GET", "/api/evaluations"): _evaluations,
    ("GET", "/api/evaluations/{evaluation_id}"): _evaluation(),
    ("PUT", "/api/evaluations/{evaluation_id}"): _evaluation("", {"answers": ANSWERS}),
    ("POST", "/api/evaluations/{evaluation_id}/acknowledge"): _evaluation("/acknowledge", {}),
    ("POST", "/api/evaluations/{evaluation_id}/dispute"): _evaluation(
        "/dispute", {"comment": "I did verify"}),
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
    ("GET", "/api/recordings/{recording_id}/transcript"): _transcribed("transcript"),
    ("GET", "/api/recordings/{recording_id}/insights"): _transcribed("insights"),
    ("GET", "/api/transcripts/search"): fixed("/api/transcripts/search?q=buy+order"),
    ("GET", "/api/analytics/hot-leads"): _hot_leads,
    ("GET", "/api/analytics/rules"): fixed("/api/analytics/rules"),
    ("GET", "/api/calls/{call_id}/quality"): _call_quality,
    ("PUT", "/api/analytics/rules"): fixed("/api/analytics/rules", {
        "categories": [{"name": "buying", "phrases": ["buy"]}], "lead": {"threshold": 40}}),
    ("GET", "/api/me/agent"): fixed("/api/me/agent"),
    ("PUT", "/api/me/agent/state"): fixed("/api/me/agent/state", {"state": "available"}),
    ("PUT", "/api/agents/{user_id}/state"): _agent_state,
    ("GET", "/api/me/sip"): fixed("/api/me/sip"),
    ("POST", "/api/me/password"): _password_change,
    ("GET", "/api/wallboard"): fixed("/api/wallboard"),
    ("GET", "/api/agents"): fixed("/api/agents"),
    ("GET", "/api/reports"): fixed("/api/reports"),
    ("GET", "/api/reports/csv"): fixed("/api/reports/csv?table=agents"),
    ("GET", "/api/reports/settings"): fixed("/api/reports/settings"),
    ("PUT", "/api/reports/settings"): fixed("/api/reports/settings", {"timezone": "Asia/Dubai"}),
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
    ("POST", "/api/calls/{call_id}/move"): control("move", CallState.QUEUED,
                                                   body={"queue": "sales"}),
    ("POST", "/api/calls/{call_id}/priority"): control("priority", CallState.QUEUED,
                                                       body={"priority": 5}),
    ("POST", "/api/calls/{call_id}/voicemail"): control("voicemail", CallState.QUEUED),
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
    ("GET", "/api/callbacks"): fixed("/api/callbacks"),
    ("POST", "/api/callbacks"): fixed(
        "/api/callbacks", {"number": "+14155550123", "queue": "support", "contact": "Bo"}),
    ("DELETE", "/api/callbacks/{callback_id}"): _callback_cancel,
    ("GET", "/api/dialing/policy"): fixed("/api/dialing/policy"),
    ("PUT", "/api/dialing/policy"): fixed("/api/dialing/policy", {"countries": ["US", "CA"]}),
    ("GET", "/api/dialing/check"): fixed("/api/dialing/check?number=%2B19005550123"),
    ("GET", "/api/dialing/caller-ids"): fixed("/api/dialing/caller-ids"),
    ("PUT", "/api/dialing/caller-ids"): fixed(
        "/api/dialing/caller-ids", {"numbers": [{"number": "+14155550100", "label": "Sales"}]}),
    ("GET", "/outbound"): fixed("/outbound"),
    ("GET", "/api/leads/lists"): fixed("/api/leads/lists"),
    ("POST", "/api/leads/lists"): _new_list,
    ("POST", "/api/leads/lists/{list_id}/import"): _leads(
        "/import", {"csv": "phone\n+14155550101\n"}),
    ("GET", "/api/leads/lists/{list_id}/export"): _leads("/export"),
    ("POST", "/api/leads/lists/{list_id}/tasks"): _leads("/tasks", {}),
    ("GET", "/api/tasks"): fixed("/api/tasks"),
    ("POST", "/api/tasks"): fixed("/api/tasks", {"number": "+14155550123"}),
    ("GET", "/api/tasks/{task_id}"): _task(),
    ("POST", "/api/tasks/{task_id}/call"): _task("/call", {}),
    ("POST", "/api/tasks/{task_id}/done"): _task("/done", {"outcome": "Sale"}),
    ("POST", "/api/tasks/{task_id}/unanswered"): _task("/unanswered", {"result": "busy"}),
    ("POST", "/api/tasks/{task_id}/cancel"): _task("/cancel"),
    ("GET", "/api/me/work"): fixed("/api/me/work"),
    ("GET", "/campaigns"): fixed("/campaigns"),
    ("GET", "/api/me/campaigns"): fixed("/api/me/campaigns"),
    ("GET", "/admin/compliance"): fixed("/admin/compliance"),
    ("GET", "/api/campaigns"): fixed("/api/campaigns"),
    ("POST", "/api/campaigns"): _new_campaign,
    ("GET", "/api/campaigns/{campaign_id}"): _campaign(),
    ("PUT", "/api/campaigns/{campaign_id}"): _campaign_update,
    ("POST", "/api/campaigns/{campaign_id}/start"): _campaign("/start"),
    ("POST", "/api/campaigns/{campaign_id}/pause"): _campaign("/pause", started=True),
    ("POST", "/api/campaigns/{campaign_id}/stop"): _campaign("/stop"),
    ("GET", "/api/campaigns/{campaign_id}/dashboard"): _campaign("/dashboard"),
    ("GET", "/api/campaigns/{campaign_id}/report"): _campaign("/report"),
    ("GET", "/api/campaigns/{campaign_id}/attempts.csv"): _campaign("/attempts.csv"),
    ("GET", "/api/campaigns/{campaign_id}/attempts"): _campaign("/attempts"),
    ("POST", "/api/campaigns/{campaign_id}/preview/next"): _campaign(
        "/preview/next", preview=True),
    ("POST", "/api/campaigns/{campaign_id}/preview/{attempt_id}/call"): _campaign(
        "/preview/{attempt_id}/call", preview=True, reserve=True),
    ("POST", "/api/campaigns/{campaign_id}/preview/{attempt_id}/skip"): _campaign(
        "/preview/{attempt_id}/skip", {"reason": "wrong person"}, preview=True, reserve=True),
    ("GET", "/api/dnc"): fixed("/api/dnc"),
    ("POST", "/api/dnc"): fixed("/api/dnc", {"numbers": ["+14155550177"]}),
    ("POST", "/api/dnc/import"): fixed("/api/dnc/import", {"csv": "phone\n+14155550178\n"}),
    ("DELETE", "/api/dnc/{number}"): _dnc_entry,
    ("GET", "/api/compliance/settings"): fixed("/api/compliance/settings"),
    ("PUT", "/api/compliance/settings"): fixed("/api/compliance/settings", {"max_attempts": 6}),
    ("GET", "/api/compliance/check"): fixed("/api/compliance/check?number=%2B14155550100"),
    ("GET", "/api/compliance/refusals"): fixed("/api/compliance/refusals"),
    ("GET", "/ws"): fixed("/ws"),
    ("GET", "/contacts/{contact_id}"): _contact_page,
    ("GET", "/admin/contact-fields"): fixed("/admin/contact-fields"),
    ("GET", "/api/contacts/{contact_id}/timeline"): _timeline,
    ("GET", "/api/contact-fields"): fixed("/api/contact-fields"),
    ("PUT", "/api/contact-fields"): fixed("/api/contact-fields", {"fields": [
        {"name": "plan", "kind": "choice", "choices": ["Basic", "Business"]}]}),
    ("GET", "/tickets"): fixed("/tickets"),
    ("GET", "/tickets/{ticket_id}"): _ticket(page=True),
    ("GET", "/api/tickets"): fixed("/api/tickets?status=open&overdue=false"),
    ("POST", "/api/tickets"): fixed("/api/tickets", {"subject": "By hand", "queue": "support"}),
    ("POST", "/api/calls/{call_id}/ticket"): _ticket_from_call,
    ("GET", "/api/tickets/targets"): fixed("/api/tickets/targets"),
    ("PUT", "/api/tickets/targets"): fixed("/api/tickets/targets", TARGETS),
    ("GET", "/api/tickets/{ticket_id}"): _ticket(),
    ("PATCH", "/api/tickets/{ticket_id}"): _ticket("", {"status": "in-progress"}),
    ("POST", "/api/tickets/{ticket_id}/comments"): _ticket("/comments", {"body": "Called back"}),
    ("POST", "/api/tickets/{ticket_id}/calls"): _ticket_link_call,
    ("GET", "/admin/call-scripts"): fixed("/admin/call-scripts"),
    ("GET", "/api/call-scripts"): fixed("/api/call-scripts"),
    ("GET", "/api/call-scripts/{name}"): _script(),
    ("PUT", "/api/call-scripts/{name}"): fixed(
        "/api/call-scripts/greeting", {"headline": "Greeting", "opening": "Hello {contact.name}"}),
    ("POST", "/api/call-scripts/{name}/restore"): _script("/restore", {"version": 1}),
    ("DELETE", "/api/call-scripts/{name}"): _script(),
    ("GET", "/api/calls/{call_id}/script"): _call_script,
    ("GET", "/api/tokens"): fixed("/api/tokens"),
    ("POST", "/api/tokens"): fixed("/api/tokens", {"name": "CRM sync", "role": "agent"}),
    ("DELETE", "/api/tokens/{token_id}"): _token,
    ("POST", "/api/tokens/{token_id}/rotate"): _token_rotate,
    ("GET", "/admin/integrations"): fixed("/admin/integrations"),
    ("GET", "/api/webhooks"): fixed("/api/webhooks"),
    ("POST", "/api/webhooks"): fixed("/api/webhooks", HOOK),
    ("GET", "/api/webhooks/{webhook_id}"): _webhook(),
    ("PATCH", "/api/webhooks/{webhook_id}"): _webhook("", {"active": False}),
    ("DELETE", "/api/webhooks/{webhook_id}"): _webhook(),
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): _webhook("/deliveries"),
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): _replay,
    ("GET", "/voicemail"): fixed("/voicemail"),
    ("GET", "/api/voicemails"): fixed("/api/voicemails?mailbox_kind=queue&status=new"),
    ("GET", "/api/voicemails/summary"): fixed("/api/voicemails/summary"),
    ("GET", "/api/voicemails/{voicemail_id}"): _voicemail(),
    ("GET", "/api/voicemails/{voicemail_id}/audio"): _voicemail("/audio"),
    ("PUT", "/api/voicemails/{voicemail_id}/status"): _voicemail("/status", {"status": "heard"}),
    ("PUT", "/api/voicemails/{voicemail_id}/assignee"): _voicemail_assign,
    ("DELETE", "/api/voicemails/{voicemail_id}"): _voicemail(),
    ("GET", "/api/voicemail/rules"): fixed("/api/voicemail/rules"),
    ("PUT", "/api/voicemail/rules"): fixed("/api/voicemail/rules", {"retention_days": 14}),
    ("GET", "/api/crm-link"): fixed("/api/crm-link"),
    ("PUT", "/api/crm-link"): fixed("/api/crm-link", {
        "lookup_url": "https://crm.example.com/people?phone={number}",
        "open_url": "https://crm.example.com/c/{contact_id}", "mapping": {"name": "full_name"}}),
    ("GET", "/api/crm-link/lookup"): fixed("/api/crm-link/lookup?number=%2B14155550100"),
    ("GET", "/api/contacts/{contact_id}/crm-link"): _contact_crm_link,
    ("GET", "/api/masking"): fixed("/api/masking"),
    ("PUT", "/api/masking"): fixed("/api/masking", {"roles": ["agent"], "webhooks": True}),
    ("POST", "/api/calls/dial-by"): _dial_by,
    ("GET", "/api/virtual-numbers"): fixed("/api/virtual-numbers"),
    ("PUT", "/api/virtual-numbers"): fixed("/api/virtual-numbers", {"numbers": [
        {"number": "+14155550160", "label": "Riders (acme)"}]}),
    ("GET", "/api/contacts/{contact_id}/virtual-number"): _contact_virtual_number,
    ("GET", "/api/masked-calls"): fixed("/api/masked-calls?live=true"),
    ("POST", "/api/masked-calls"): _masked_call,
    ("DELETE", "/api/masked-calls/{mapping_id}"): _masked_call_revoke,
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
