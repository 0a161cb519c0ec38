"""HTTP routes of virtual numbers: the tenant's pool (admins), the number a contact sees, and
masked two-party mappings (created by managers, admins and their API tokens)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, model_validator

from pbx_stasis.crm.service import crm_of
from pbx_stasis.dialing.caller_ids import CallerIdNumber
from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import WHOLE, Model, ModelBody, ModelQuery, QueryFlag, Whole, text
from pbx_stasis.virtualnumbers.service import (
    MappingEnded,
    NoFreeNumber,
    PoolNumber,
    virtual_numbers_of,
)
from pbx_stasis.virtualnumbers.tables import MaskedMapping
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    conflict,
    invalid,
    not_found,
    reply,
)

ADMIN = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
MAX_POOL = 500
MAX_TTL_S = 30 * 24 * 3600


class PoolEntry(Model):
    """A pool number; `queue`: where customers calling it back go when the agent they last
    talked with is not logged in (none: only masked calls)."""

    number: CallerIdNumber
    label: Annotated[str, text(min_length=0, max_length=64)] = ""
    queue: Annotated[str, text(max_length=100)] | None = None


def _each_once(numbers: tuple[PoolEntry, ...]) -> tuple[PoolEntry, ...]:
    seen: set[str] = set()
    for index, entry in enumerate(numbers):
        if entry.number in seen:
            raise ValueError(f"{entry.number} is listed twice (numbers.{index})")
        seen.add(entry.number)
    return numbers


class PoolFields(Model):
    """PUT /api/virtual-numbers: the tenant's pool, in the order numbers are given out."""

    numbers: Annotated[tuple[PoolEntry, ...], Field(max_length=MAX_POOL)] = ()

    @model_validator(mode="after")
    def _unique(self) -> PoolFields:
        _each_once(self.numbers)
        return self


POOL_BODY = ModelBody(PoolFields, defaults=True)


class MappingFields(Model):
    """POST /api/masked-calls: party A and party B reach each other through a virtual number
    (`virtual`: one of the pool's, else the first free one) for `ttl_seconds`."""

    party_a: CallerIdNumber
    party_b: CallerIdNumber
    ttl_seconds: Annotated[Whole, Field(ge=60, le=MAX_TTL_S), WHOLE] = 3600
    virtual: CallerIdNumber | None = None
    reference: Annotated[str, text(min_length=0, max_length=100)] = ""

    @model_validator(mode="after")
    def _two_parties(self) -> MappingFields:
        if self.party_a == self.party_b:
            raise ValueError("party_a and party_b must be two different numbers")
        return self


MAPPING_BODY = ModelBody(MappingFields, defaults=True)


class MappingQuery(Model):
    live: QueryFlag = False


MAPPING_QUERY = ModelQuery(MappingQuery)


def mapping_json(row: MaskedMapping) -> dict[str, Any]:
    return {"id": row.id, "virtual": row.virtual, "party_a": row.party_a,
            "party_b": row.party_b, "reference": row.reference, "expires_at": row.expires_at,
            "live": row.expires_at > utc_now(), "created_at": row.created_at,
            "created_by": row.created_by, "revoked_at": row.revoked_at,
            "revoked_by": row.revoked_by}


async def get_pool(req: RouteRequest) -> web.StreamResponse:
    pool = await virtual_numbers_of(req).pool(req.who.tenant_id)
    return reply({"numbers": [{"number": n.number, "label": n.label, "queue": n.queue}
                              for n in pool]})


async def set_pool(req: RouteRequest) -> web.StreamResponse:
    numbers = [PoolNumber(entry["number"], entry["label"], entry["queue"])
               for entry in req.body["numbers"]]
    taken = await virtual_numbers_of(req).set_pool(req.who.tenant_id, numbers)
    if taken:
        raise invalid({"numbers": f"{', '.join(taken[:3])} belong(s) to another tenant"})
    return await get_pool(req)


async def contact_number(req: RouteRequest) -> web.StreamResponse:
    """The virtual number a contact is shown as caller ID (always the same one)."""
    tenant_id = req.who.tenant_id
    contact_id = req.int_param("contact_id", "contact")
    if await crm_of(req).contacts.get(tenant_id, contact_id) is None:
        raise not_found("contact")
    number = await virtual_numbers_of(req).for_contact(tenant_id, contact_id)
    return reply({"contact_id": contact_id, "virtual": number})


async def list_mappings(req: RouteRequest) -> web.StreamResponse:
    rows = await virtual_numbers_of(req).mappings(
        req.who.tenant_id, live_at=utc_now() if req.query["live"] else None)
    return reply({"mappings": [mapping_json(row) for row in rows]})


async def create_mapping(req: RouteRequest) -> web.StreamResponse:
    body = req.body
    try:
        row = await virtual_numbers_of(req).create_mapping(
            req.who.tenant_id, body["party_a"], body["party_b"],
            ttl=timedelta(seconds=body["ttl_seconds"]), virtual=body["virtual"],
            reference=body["reference"], by=req.who.username)
    except NoFreeNumber:
        field = "virtual" if body["virtual"] is not None else "party_a"
        raise invalid({field: "no virtual number of your pool is free for these parties "
                              "(each already has a live mapping on it, or the pool is empty)"}
                      ) from None
    return reply({"mapping": mapping_json(row)}, status=201)


async def revoke_mapping(req: RouteRequest) -> web.StreamResponse:
    mapping_id = req.int_param("mapping_id", "mapping")
    try:
        row = await virtual_numbers_of(req).revoke_mapping(req.who.tenant_id, mapping_id,
                                                           by=req.who.username)
    except MappingEnded:
        raise conflict("ended", "the mapping has already ended (expired or revoked)") from None
    if row is None:
        raise not_found("mapping")
    return reply({"mapping": mapping_json(row)})


ROUTES = [
    Route("GET", "/api/virtual-numbers", get_pool, ADMIN,
          "The tenant's pool of virtual numbers", tag="integrations"),
    Route("PUT", "/api/virtual-numbers", set_pool, ADMIN,
          "Set the tenant's pool of virtual numbers", body=POOL_BODY, tag="integrations"),
    Route("GET", "/api/contacts/{contact_id}/virtual-number", contact_number, ANYONE,
          "The virtual number a contact is shown as caller ID (sticky)", tag="contacts"),
    Route("GET", "/api/masked-calls", list_mappings, MANAGERS,
          "Masked two-party mappings (newest first; live=true: those not expired)",
          query=MAPPING_QUERY, tag="integrations"),
    Route("POST", "/api/masked-calls", create_mapping, MANAGERS,
          "Map party A and party B onto a virtual number until an expiry: each calls it to "
          "reach the other, seeing only the virtual number", body=MAPPING_BODY,
          tag="integrations"),
    Route("DELETE", "/api/masked-calls/{mapping_id}", revoke_mapping, MANAGERS,
          "Revoke a live mapping now: the parties' next calls to the virtual number are "
          "refused (a call in progress goes on); journaled with who revoked it",
          tag="integrations"),
]
