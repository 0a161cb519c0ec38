"""HTTP routes of the CRM: contacts, the caller's contact card, dispositions, a call's outcome."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.model import AgentState
from pbx_stasis.crm.contacts import ContactDraft, ContactFields, ContactRecord, PastCall
from pbx_stasis.crm.dispositions import (
    CallOutcome,
    DispositionFields,
    DispositionRecord,
    NewDispositionFields,
    OutcomeFields,
)
from pbx_stasis.crm.events import DISPOSITION_SET, DispositionSet
from pbx_stasis.crm.fields import FieldDefinitions, FieldKind, FieldSpec, check_values
from pbx_stasis.crm.phones import MASKED_MARK, mask_number, to_e164
from pbx_stasis.crm.service import crm_of
from pbx_stasis.crm.timeline import TIMELINE, TimelineEntry, Viewer
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import Call, Direction, Role
from pbx_stasis.validation import QUERY_WHOLE, Model, ModelBody, ModelQuery, QueryFlag, text
from pbx_stasis.web.call_access import may_see_call, only_agent
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    at_least,
    invalid,
    no_content,
    not_found,
    reply,
)

PHONE_HINT = "is not a phone number: write it in international form, e.g. +14155550100"

# How long a call's lookup waits for the process that runs the calls to store what it holds
# (one commit, a few ms; longer only while the database is away).
CALLS_STORED_WAIT_S = 2.0


def contact_json(contact: ContactRecord) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "company": contact.company,
        "phones": list(contact.phones),
        "tags": list(contact.tags),
        "custom_fields": contact.custom_fields,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def past_call_json(call: PastCall) -> dict[str, Any]:
    return asdict(call)


def disposition_json(item: DispositionRecord) -> dict[str, Any]:
    return asdict(item)


CONTACT = ModelBody(ContactFields, defaults=True)


def _draft(req: RouteRequest, current: tuple[str, ...] = ()) -> ContactDraft:
    """The contact as written; a phone sent back masked (a role that sees numbers masked
    edits the contact) stands for the contact's current phone of that mask."""
    body = req.body
    phones: list[str] = []
    errors: dict[str, str] = {}
    for index, raw in enumerate(body["phones"]):
        if MASKED_MARK in raw:
            kept = [phone for phone in current if mask_number(phone) == raw]
            if kept:
                phones.append(kept[0])
            else:
                errors[f"phones.{index}"] = "is masked: write the whole number"
            continue
        e164 = to_e164(raw, crm_of(req).numbering)
        if e164 is None:
            errors[f"phones.{index}"] = PHONE_HINT
        else:
            phones.append(e164)
    if errors:
        raise invalid(errors)
    return ContactDraft(
        name=body["name"],
        company=body["company"] or None,
        phones=tuple(phones),
        tags=tuple(body["tags"]),
        custom_fields=body["custom_fields"],
    )


class ContactSearch(Model):
    """GET /api/contacts: a name, company, tag or phone to look for."""

    q: Annotated[str, text(min_length=0, max_length=100)] = ""
    limit: Annotated[int, Field(ge=1, le=100), QUERY_WHOLE] = 25


SEARCH = ModelQuery(ContactSearch)


async def search_contacts(req: RouteRequest) -> web.StreamResponse:
    found = await crm_of(req).contacts.search(req.who.tenant_id, req.query["q"], req.query["limit"])
    return reply({"contacts": [contact_json(contact) for contact in found]})


async def _checked_draft(req: RouteRequest, current: tuple[str, ...] = ()) -> ContactDraft:
    """The contact as written, its custom values checked against the tenant's definitions."""
    draft = _draft(req, current)
    specs = await crm_of(req).fields.for_tenant(req.who.tenant_id)
    problems = check_values(specs, draft.custom_fields or {})
    if problems:
        raise invalid(problems)
    return draft


async def create_contact(req: RouteRequest) -> web.StreamResponse:
    contact = await crm_of(req).contacts.create(req.who.tenant_id, await _checked_draft(req))
    return reply({"contact": contact_json(contact)}, status=201)


class ByPhone(Model):
    """GET /api/contacts/by-phone: the caller's number, as the switch wrote it; masked (a role
    that sees numbers masked), with the call's id it was read from."""

    number: Annotated[str, text(max_length=200)]
    call_id: Annotated[str, text(max_length=64)] | None = None


async def real_number(req: RouteRequest, raw: str, call_id: str | None) -> str:
    """The number a page sent, or the one its masked form stands for: the other party of the
    call it names (one this user may see)."""
    if MASKED_MARK not in raw:
        return raw
    if call_id is None:
        raise invalid({"number": "is masked: send the call_id it was read from"})
    call = await own_call(req, call_id, "call_id")
    return call.from_number if call.direction is Direction.INBOUND else call.to_number


BY_PHONE = ModelQuery(ByPhone)


async def contact_by_phone(req: RouteRequest) -> web.StreamResponse:
    """The caller's card: matching contacts and the calls with that number (or their phones)
    that this user may see (web/call_access.py)."""
    tenant_id = req.who.tenant_id
    raw = await real_number(req, req.query["number"], req.query["call_id"])
    e164 = to_e164(raw, crm_of(req).numbering)
    contacts = await crm_of(req).contacts.by_phone(tenant_id, raw)
    phones = list(contacts[0].phones) if contacts else []
    if e164 is not None and e164 not in phones:
        phones.append(e164)
    history = await crm_of(req).contacts.history(tenant_id, phones, only_agent=only_agent(req.who))
    return reply(
        {
            "number": raw,
            "e164": e164,
            "contacts": [contact_json(contact) for contact in contacts],
            "history": [past_call_json(call) for call in history],
        }
    )


async def get_contact(req: RouteRequest) -> web.StreamResponse:
    tenant_id = req.who.tenant_id
    contact = await crm_of(req).contacts.get(tenant_id, req.int_param("contact_id", "contact"))
    if contact is None:
        raise not_found("contact")
    history = await crm_of(req).contacts.history(
        tenant_id, contact.phones, only_agent=only_agent(req.who)
    )
    return reply(
        {"contact": contact_json(contact), "history": [past_call_json(c) for c in history]}
    )


async def update_contact(req: RouteRequest) -> web.StreamResponse:
    contact_id = req.int_param("contact_id", "contact")
    before = await crm_of(req).contacts.get(req.who.tenant_id, contact_id)
    if before is None:
        raise not_found("contact")
    contact = await crm_of(req).contacts.update(
        req.who.tenant_id, contact_id, await _checked_draft(req, tuple(before.phones)))
    if contact is None:
        raise not_found("contact")
    return reply({"contact": contact_json(contact)})


async def own_call(req: RouteRequest, call_id: str, field: str | None = None) -> Call:
    """The tenant's call, if this user may see it: an agent's own (taken, or on the line now);
    else 404, or 400 naming `field` when the call id came in a body."""
    who = req.who
    statement = select(Call).where(Call.id == call_id, Call.tenant_id == who.tenant_id)
    # The call's row may still be queued for writing in the process that runs the calls, this
    # one or the Stasis process of a split deployment (store/writer.py): an agent's page asks
    # for the call it is offered a few ms after the call began. With that process away or
    # slow, what is stored is all there is to read.
    with contextlib.suppress(ServiceError, WebError, TimeoutError):
        async with asyncio.timeout(CALLS_STORED_WAIT_S):
            await acd_of(req).calls_stored()
    async with req.site.ctx.db.session() as session:
        call = await session.scalar(statement)
    mine = call is not None and may_see_call(who, call.agent_user_id)
    if call is not None and not mine and who.role is Role.AGENT:
        try:
            mine = (await acd_of(req).agent_status(who.tenant_id, who.user_id)).call_id == call_id
        except ServiceError:
            mine = False
    if call is None or not mine:
        if field is not None:
            raise invalid({field: "is not one of your calls"})
        raise not_found("call")
    return call


async def viewer_of(req: RouteRequest) -> Viewer:
    """Who reads: for an agent, with the queues they take calls of (their tickets' scope)."""
    who = req.who
    queues: tuple[str, ...] = ()
    if who.role is Role.AGENT:
        try:
            queues = tuple((await acd_of(req).agent_profile(who.tenant_id, who.user_id)).queues)
        except (ServiceError, WebError):
            # No profile, or the ACD is away (503): the agent still reaches their own tickets.
            queues = ()
    return Viewer(who.tenant_id, who.user_id, who.role, queues)


class TimelineQuery(Model):
    """GET /api/contacts/{id}/timeline: how many entries, newest first."""

    limit: Annotated[int, Field(ge=1, le=500), QUERY_WHOLE] = 100


TIMELINE_QUERY = ModelQuery(TimelineQuery)


def entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return {"at": entry.at, "kind": entry.kind, "title": entry.title, **entry.detail}


async def contact_timeline(req: RouteRequest) -> web.StreamResponse:
    """Everything that happened with a contact, newest first, from every timeline source."""
    contact_id = req.int_param("contact_id", "contact")
    contact = await crm_of(req).contacts.get(req.who.tenant_id, contact_id)
    if contact is None:
        raise not_found("contact")
    timeline = req.http.app[TIMELINE]
    entries = await timeline.read(contact, await viewer_of(req), req.query["limit"])
    return reply({
        "contact": contact_json(contact),
        "sources": list(timeline.sources),
        "entries": [entry_json(entry) for entry in entries],
    })


def field_spec_json(spec: FieldSpec) -> dict[str, Any]:
    return {"name": spec.name, "kind": spec.kind.value, "choices": list(spec.choices)}


async def list_contact_fields(req: RouteRequest) -> web.StreamResponse:
    specs = await crm_of(req).fields.for_tenant(req.who.tenant_id)
    return reply({"fields": [field_spec_json(spec) for spec in specs]})


FIELD_DEFINITIONS = ModelBody(FieldDefinitions, defaults=True)


async def set_contact_fields(req: RouteRequest) -> web.StreamResponse:
    specs = [
        FieldSpec(item["name"], FieldKind(item["kind"]), tuple(item["choices"]))
        for item in req.body["fields"]
    ]
    saved = await crm_of(req).fields.replace(req.who.tenant_id, specs)
    return reply({"fields": [field_spec_json(spec) for spec in saved]})


async def delete_contact(req: RouteRequest) -> web.StreamResponse:
    contact_id = req.int_param("contact_id", "contact")
    if not await crm_of(req).contacts.delete(req.who.tenant_id, contact_id):
        raise not_found("contact")
    return no_content()


class DispositionList(Model):
    """GET /api/dispositions: `all` also lists the retired ones."""

    all: QueryFlag = False


LIST_DISPOSITIONS = ModelQuery(DispositionList)


async def list_dispositions(req: RouteRequest) -> web.StreamResponse:
    items = await crm_of(req).dispositions.for_tenant(
        req.who.tenant_id, include_retired=req.query["all"]
    )
    return reply({"dispositions": [disposition_json(item) for item in items]})


NEW_DISPOSITION = ModelBody(NewDispositionFields, defaults=True)
DISPOSITION_CHANGE = ModelBody(DispositionFields, defaults=True)


async def create_disposition(req: RouteRequest) -> web.StreamResponse:
    try:
        item = await crm_of(req).dispositions.create(
            req.who.tenant_id,
            req.body["name"],
            requires_follow_up=req.body["requires_follow_up"],
        )
    except AlreadyExists:
        raise invalid({"name": "is already taken"}) from None
    return reply({"disposition": disposition_json(item)}, status=201)


async def update_disposition(req: RouteRequest) -> web.StreamResponse:
    body = req.body
    try:
        item = await crm_of(req).dispositions.update(
            req.who.tenant_id,
            req.int_param("disposition_id", "disposition"),
            name=body["name"],
            requires_follow_up=body["requires_follow_up"],
            position=body["position"],
            active=body["active"],
        )
    except AlreadyExists:
        raise invalid({"name": "is already taken"}) from None
    if item is None:
        raise not_found("disposition")
    return reply({"disposition": disposition_json(item)})


async def retire_disposition(req: RouteRequest) -> web.StreamResponse:
    disposition_id = req.int_param("disposition_id", "disposition")
    if not await crm_of(req).dispositions.retire(req.who.tenant_id, disposition_id):
        raise not_found("disposition")
    return no_content()


OUTCOME = ModelBody(OutcomeFields, defaults=True, dates=True)


async def set_call_outcome(req: RouteRequest) -> web.StreamResponse:
    """Save an agent's wrap-up; if they are in wrap-up for this call, wrap-up may then end."""
    who = req.who
    site = req.site
    call_id = req.param("call_id")
    statement = select(Call.agent_user_id).where(
        Call.id == call_id, Call.tenant_id == who.tenant_id
    )
    async with site.ctx.db.session() as session:
        call_agent = (await session.execute(statement)).first()
    if call_agent is None:
        raise not_found("call")
    agent = None
    if who.role is Role.AGENT:
        agent = await acd_of(req).agent_status(who.tenant_id, who.user_id)
        own = call_agent[0] == who.user_id or agent.call_id == call_id
        if not own:
            raise not_found("call")
    body = req.body
    disposition = await crm_of(req).dispositions.by_name(who.tenant_id, body["disposition"])
    if disposition is None or not disposition.active:
        raise invalid({"disposition": "is not one of your dispositions"})
    follow_up = body["follow_up_on"]
    if disposition.requires_follow_up and follow_up is None:
        raise invalid({"follow_up_on": f"is required for {disposition.name}"})
    if follow_up is not None and follow_up < site.now().date():
        raise invalid({"follow_up_on": "must be today or later"})
    outcome = CallOutcome(call_id, disposition.name, body["notes"] or None, follow_up)
    if not await crm_of(req).outcomes.record(who.tenant_id, call_id, who.user_id, outcome):
        raise not_found("call")
    site.ctx.bus.publish(DISPOSITION_SET, who.tenant_id, DispositionSet(
        call_id=call_id, disposition=outcome.disposition, notes=outcome.notes,
        follow_up_on=follow_up.isoformat() if follow_up else None, by_user_id=who.user_id,
        agent_user_id=call_agent[0], at=site.now()))
    if agent is None and call_agent[0] == who.user_id:
        # A supervisor who took the call as an agent; one without an agent has no wrap-up.
        try:
            agent = await acd_of(req).agent_status(who.tenant_id, who.user_id)
        except ServiceError as exc:
            if exc.code is not ServiceErrorCode.NOT_FOUND:
                raise
    if agent is not None and agent.state is AgentState.WRAP_UP and agent.call_id == call_id:
        agent = await acd_of(req).complete_wrapup(who.tenant_id, who.user_id, call_id)
    return reply({"outcome": asdict(outcome)})


ROUTES = [
    Route(
        "GET",
        "/api/contacts",
        search_contacts,
        ANYONE,
        "Search contacts by name, company, tag or phone",
        query=SEARCH,
        tag="contacts",
    ),
    Route(
        "POST",
        "/api/contacts",
        create_contact,
        ANYONE,
        "Create a contact (phones are normalised to E.164)",
        body=CONTACT,
        tag="contacts",
    ),
    Route(
        "GET",
        "/api/contacts/by-phone",
        contact_by_phone,
        ANYONE,
        "The contact card of a caller: matching contacts and previous calls",
        query=BY_PHONE,
        tag="contacts",
    ),
    Route(
        "GET",
        "/api/contacts/{contact_id}",
        get_contact,
        ANYONE,
        "A contact with its call history",
        tag="contacts",
    ),
    Route(
        "PUT",
        "/api/contacts/{contact_id}",
        update_contact,
        ANYONE,
        "Replace a contact's details",
        body=CONTACT,
        tag="contacts",
    ),
    Route(
        "GET",
        "/api/contacts/{contact_id}/timeline",
        contact_timeline,
        ANYONE,
        "A contact's timeline: calls with recordings, notes, dispositions, tickets, newest first",
        query=TIMELINE_QUERY,
        tag="contacts",
    ),
    Route(
        "GET",
        "/api/contact-fields",
        list_contact_fields,
        ANYONE,
        "The tenant's custom fields of contacts (text, number, date, choice)",
        tag="contacts",
    ),
    Route(
        "PUT",
        "/api/contact-fields",
        set_contact_fields,
        frozenset({Role.ADMIN}),
        "Replace the tenant's custom field definitions",
        body=FIELD_DEFINITIONS,
        tag="contacts",
    ),
    Route(
        "DELETE",
        "/api/contacts/{contact_id}",
        delete_contact,
        at_least(Role.MANAGER),
        "Delete a contact (its calls stay)",
        tag="contacts",
    ),
    Route(
        "GET",
        "/api/dispositions",
        list_dispositions,
        ANYONE,
        "Dispositions agents choose from (all=true: retired ones too)",
        query=LIST_DISPOSITIONS,
        tag="dispositions",
    ),
    Route(
        "POST",
        "/api/dispositions",
        create_disposition,
        frozenset({Role.ADMIN}),
        "Add a disposition",
        body=NEW_DISPOSITION,
        tag="dispositions",
    ),
    Route(
        "PUT",
        "/api/dispositions/{disposition_id}",
        update_disposition,
        frozenset({Role.ADMIN}),
        "Change a disposition",
        body=DISPOSITION_CHANGE,
        tag="dispositions",
    ),
    Route(
        "DELETE",
        "/api/dispositions/{disposition_id}",
        retire_disposition,
        frozenset({Role.ADMIN}),
        "Retire a disposition (past calls keep it)",
        tag="dispositions",
    ),
    Route(
        "PUT",
        "/api/calls/{call_id}/disposition",
        set_call_outcome,
        ANYONE,
        "Save a call's disposition, notes and follow-up date (ends wrap-up's requirement)",
        body=OUTCOME,
        tag="calls",
    ),
]
