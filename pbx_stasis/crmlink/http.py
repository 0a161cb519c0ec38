"""HTTP routes of the external CRM link: its settings (admins), a caller's lookup for the
screen pop, and a contact's "open in CRM" link."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.crm.http import real_number
from pbx_stasis.crm.service import crm_of
from pbx_stasis.crmlink.core import (
    LOOKUP_PLACEHOLDERS,
    PLACEHOLDERS,
    ExternalRecord,
    Lookup,
    template_problem,
)
from pbx_stasis.crmlink.service import LinkSettings, external_crm_of
from pbx_stasis.masking.service import masking_of
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import (
    DB_INT_MAX,
    KEYS_MATCH,
    QUERY_WHOLE,
    WHOLE,
    Model,
    ModelBody,
    ModelQuery,
    Whole,
    left_out,
    text,
)
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, invalid, not_found, reply

ADMIN = frozenset({Role.ADMIN})
Template = Annotated[str, text(max_length=2000)]
Path = Annotated[str, text(max_length=200, pattern=r"[A-Za-z0-9_.\-]+",
                           hint="a dotted path such as contact.name")]
Target = Annotated[str, text(max_length=64, pattern=r"[A-Za-z][A-Za-z0-9_ ]*",
                             hint="a contact field: external_id, name, company or a custom field")]


class LinkFields(Model):
    """PUT /api/crm-link: the tenant's CRM. `token` left out keeps the saved one; null clears.
    `mapping`: contact field (external_id, name, company, a custom field) -> dotted path in the
    CRM's answer."""

    lookup_url: Template | None = None
    token: Annotated[str, text(max_length=500)] | None = left_out()
    timeout_ms: Annotated[Whole, Field(ge=100, le=5000), WHOLE] = 1500
    cache_s: Annotated[Whole, Field(ge=0, le=86400), WHOLE] = 300
    mapping: Annotated[dict[Target, Path], Field(default_factory=dict, max_length=50), KEYS_MATCH]
    open_url: Template | None = None


LINK = ModelBody(LinkFields, defaults=True)


def settings_json(settings: LinkSettings) -> dict[str, Any]:
    return {
        "lookup_url": settings.lookup_url, "token_set": bool(settings.token),
        "timeout_ms": settings.timeout_ms, "cache_s": settings.cache_s,
        "mapping": dict(settings.mapping or {}), "open_url": settings.open_url,
        "internal_ok": settings.internal_ok, "updated_at": settings.updated_at,
        "updated_by": settings.updated_by,
        "placeholders": {"lookup_url": list(LOOKUP_PLACEHOLDERS), "open_url": list(PLACEHOLDERS)},
    }


async def get_link(req: RouteRequest) -> web.StreamResponse:
    return reply({"crm": settings_json(await external_crm_of(req).settings(req.who.tenant_id))})


async def set_link(req: RouteRequest) -> web.StreamResponse:
    body = req.body
    crm = external_crm_of(req)
    tenant_id = req.who.tenant_id
    errors: dict[str, str] = {}
    current = await crm.settings(tenant_id)
    if body["lookup_url"]:
        problem = (template_problem(body["lookup_url"], LOOKUP_PLACEHOLDERS)
                   or crm.lookup_url_problem(body["lookup_url"], current.internal_ok))
        if problem:
            errors["lookup_url"] = problem
    if body["open_url"] and (problem := template_problem(body["open_url"])):
        errors["open_url"] = problem
    if errors:
        raise invalid(errors)
    saved = await crm.save(
        tenant_id, req.who.username, lookup_url=body["lookup_url"] or None,
        token=body.get("token") or None, keep_token="token" not in body,
        timeout_ms=body["timeout_ms"], cache_s=body["cache_s"], mapping=body["mapping"],
        open_url=body["open_url"] or None)
    return reply({"crm": settings_json(saved)})


class LookupQuery(Model):
    """GET /api/crm-link/lookup: the caller's number, and our contact's id when there is one
    (for the "open in CRM" link)."""

    number: Annotated[str, text(max_length=200)]
    contact_id: Annotated[int, Field(ge=1, le=DB_INT_MAX), QUERY_WHOLE] | None = None
    call_id: Annotated[str, text(max_length=64)] | None = None  # a masked number's call


LOOKUP = ModelQuery(LookupQuery)


def record_json(record: ExternalRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"external_id": record.external_id, "name": record.name, "company": record.company,
            "custom_fields": dict(record.custom_fields)}


def lookup_json(lookup: Lookup, open_url: str | None) -> dict[str, Any]:
    return {"status": lookup.status.value, "note": lookup.note, "took_ms": lookup.took_ms,
            "record": record_json(lookup.record), "open_url": open_url}


async def lookup_caller(req: RouteRequest) -> web.StreamResponse:
    """The CRM's record of a caller (waits at most the tenant's timeout: the page asks
    beside our own card, which it shows at once)."""
    crm = external_crm_of(req)
    tenant_id = req.who.tenant_id
    contact_id = req.query["contact_id"]
    if contact_id is not None and await crm_of(req).contacts.get(tenant_id, contact_id) is None:
        raise not_found("contact")
    number = await real_number(req, req.query["number"], req.query["call_id"])
    lookup = await crm.lookup(tenant_id, number)
    settings = await crm.settings(tenant_id)
    external_id = lookup.record.external_id if lookup.record else None
    shown = None if await masking_of(req).shape_for(req.who) else number
    return reply(lookup_json(lookup, crm.link(settings, shown, contact_id, external_id)))


async def contact_link(req: RouteRequest) -> web.StreamResponse:
    """A contact's "open in CRM" url (null: none set, or it names what is not known here),
    from its first phone (not for a viewer who sees numbers masked) and its id."""
    crm = external_crm_of(req)
    tenant_id = req.who.tenant_id
    contact = await crm_of(req).contacts.get(tenant_id, req.int_param("contact_id", "contact"))
    if contact is None:
        raise not_found("contact")
    settings = await crm.settings(tenant_id)
    # A viewer who sees numbers masked gets no link that would carry the number.
    masked = await masking_of(req).shape_for(req.who) is not None
    number = contact.phones[0] if contact.phones and not masked else None
    external = contact.custom_fields.get("external_id") if contact.custom_fields else None
    return reply({"url": crm.link(settings, number, contact.id,
                                  str(external) if external is not None else None)})


ROUTES = [
    Route("GET", "/api/crm-link", get_link, ADMIN,
          "The tenant's external CRM: lookup url, timeout, cache, field mapping, open url "
          "(the token is never shown)", tag="integrations"),
    Route("PUT", "/api/crm-link", set_link, ADMIN,
          "Set the tenant's external CRM (token left out: kept)", body=LINK, tag="integrations"),
    Route("GET", "/api/crm-link/lookup", lookup_caller, ANYONE,
          "A caller's record in the external CRM, mapped onto a contact, with the open url",
          query=LOOKUP, tag="integrations"),
    Route("GET", "/api/contacts/{contact_id}/crm-link", contact_link, ANYONE,
          "A contact's \"open in CRM\" url", tag="contacts"),
]
