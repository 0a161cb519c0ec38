"""HTTP routes of number masking: the tenant's rules (admins), and calling back a masked
number by what it belongs to (a contact's phone, a past call's caller), never by the number."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.crm.http import own_call
from pbx_stasis.crm.service import crm_of
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIdNumber
from pbx_stasis.masking.core import MaskRules
from pbx_stasis.masking.service import MaskingRecord, masking_of
from pbx_stasis.store.tables import Call, Direction, Role
from pbx_stasis.validation import UNIQUE, WHOLE, Count, Flag, Model, ModelBody, Whole, text
from pbx_stasis.virtualnumbers.service import virtual_numbers_of
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, invalid, reply

ADMIN = frozenset({Role.ADMIN})


class MaskingFields(Model):
    """PUT /api/masking: the roles that see callers' numbers masked; `webhooks`: the tenant's
    webhooks carry them masked too."""

    roles: Annotated[tuple[Role, ...], Field(max_length=4), UNIQUE] = ()
    webhooks: Flag = False


MASKING_BODY = ModelBody(MaskingFields, defaults=True)


def masking_json(record: MaskingRecord) -> dict[str, Any]:
    return {"roles": sorted(role.value for role in record.rules.roles),
            "webhooks": record.rules.webhooks, "updated_at": record.updated_at,
            "updated_by": record.updated_by}


async def get_masking(req: RouteRequest) -> web.StreamResponse:
    return reply({"masking": masking_json(await masking_of(req).record(req.who.tenant_id))})


async def set_masking(req: RouteRequest) -> web.StreamResponse:
    rules = MaskRules(frozenset(Role(role) for role in req.body["roles"]), req.body["webhooks"])
    saved = await masking_of(req).save(req.who.tenant_id, rules, req.who.username)
    return reply({"masking": masking_json(saved)})


class DialReference(Model):
    """POST /api/calls/dial-by: call back a contact's phone (`contact_id`, `phone`: its
    position) or the other party of a past call (`call_id`), as `caller_id` or the default
    (a contact: the virtual number it is shown, when the tenant has a pool)."""

    contact_id: Count | None = None
    phone: Annotated[Whole, Field(ge=0, le=19), WHOLE] = 0
    call_id: Annotated[str, text(max_length=64)] | None = None
    caller_id: CallerIdNumber | None = None


DIAL_BY = ModelBody(DialReference, defaults=True)


async def _number_of(req: RouteRequest) -> str:
    body = req.body
    tenant_id = req.who.tenant_id
    if (body["contact_id"] is None) == (body["call_id"] is None):
        raise invalid({"contact_id": "give a contact_id or a call_id (one of them)"})
    if body["contact_id"] is not None:
        contact = await crm_of(req).contacts.get(tenant_id, body["contact_id"])
        if contact is None:
            raise invalid({"contact_id": "is not one of your contacts"})
        if body["phone"] >= len(contact.phones):
            raise invalid({"phone": f"the contact has {len(contact.phones)} phone(s)"})
        return str(contact.phones[body["phone"]])
    call: Call = await own_call(req, body["call_id"], "call_id")
    return call.from_number if call.direction is Direction.INBOUND else call.to_number


async def dial_by(req: RouteRequest) -> web.StreamResponse:
    """Dial a number the agent may not see (masked): the server reads it from its owner."""
    who = req.who
    number = await _number_of(req)
    caller_id = req.body["caller_id"]
    if caller_id is None and req.body["contact_id"] is not None:
        # A contact is shown its own virtual number, always the same (none: no pool).
        caller_id = await virtual_numbers_of(req).for_contact(who.tenant_id,
                                                              req.body["contact_id"])
    elif caller_id is not None:
        numbers = await CallerIdStore(req.site.ctx.db).caller_ids(who.tenant_id)
        if not numbers.owns(caller_id):
            raise invalid({"caller_id": f"{caller_id} is not one of your numbers"})
    call_id = await acd_of(req).dial(who.tenant_id, who.user_id, number, caller_id)
    return reply({"call_id": call_id}, status=201)


ROUTES = [
    Route("GET", "/api/masking", get_masking, ADMIN,
          "The roles that see callers' numbers masked, and whether webhooks carry them masked",
          tag="integrations"),
    Route("PUT", "/api/masking", set_masking, ADMIN, "Set number masking",
          body=MASKING_BODY, tag="integrations"),
    Route("POST", "/api/calls/dial-by", dial_by, ANYONE,
          "Call a contact's phone or a past call's other party without sending the number "
          "(masked numbers)", body=DIAL_BY, tag="calls"),
]
