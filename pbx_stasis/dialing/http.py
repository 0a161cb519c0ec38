"""API of outside dialling: an admin reads and sets which outside numbers their tenant may dial
(and tries a number against it) and the tenant's outbound numbers (caller IDs), which everyone
may read (the agent's dial pad offers them)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web

from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import (
    CallerIds,
    CallerIdsFields,
    CallerIdsInvalid,
    checked_caller_ids,
)
from pbx_stasis.dialing.policy import (
    MAX_NUMBER_LENGTH,
    DialPolicyFields,
    PolicyInvalid,
    checked_policy,
)
from pbx_stasis.dialing.policy_store import DialPolicies, policy_json, verdict_json
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import Model, ModelBody, ModelQuery, text
from pbx_stasis.web.routing import ANYONE, Route, RouteRequest, invalid, reply

ADMIN = frozenset({Role.ADMIN})


def _policies(req: RouteRequest) -> DialPolicies:
    return DialPolicies(req.site.ctx.db, req.site.ctx.settings.crm.region)


async def get_dial_policy(req: RouteRequest) -> web.StreamResponse:
    policies = _policies(req)
    policy = await policies.policy(req.who.tenant_id)
    return reply({"policy": policy_json(policy), "home": policies.home})


POLICY = ModelBody(DialPolicyFields, defaults=True)


async def set_dial_policy(req: RouteRequest) -> web.StreamResponse:
    """Replace the tenant's policy (every field; absent lists are empty, absent roles the
    default: agents and supervisors)."""
    try:
        policy = checked_policy(req.body)
    except PolicyInvalid as exc:
        raise invalid(exc.problems) from None
    policies = _policies(req)
    await policies.set_policy(req.who.tenant_id, policy, by=req.who.username)
    return reply({"policy": policy_json(policy), "home": policies.home})


class PolicyCheck(Model):
    """GET /api/dialing/check: a number, and the role of whoever would dial it."""

    number: Annotated[str, text(max_length=MAX_NUMBER_LENGTH)]
    role: Role | None = None


CHECK = ModelQuery(PolicyCheck)


async def check_dial_policy(req: RouteRequest) -> web.StreamResponse:
    """What the policy says about a number (nothing is dialled, nothing journaled)."""
    number = req.query["number"]
    role = Role(req.query["role"]) if req.query["role"] is not None else None
    verdict = await _policies(req).judge(req.who.tenant_id, number, role=role)
    return reply(verdict_json(number, verdict))


def _caller_ids_json(req: RouteRequest, ids: CallerIds) -> dict[str, Any]:
    return {"numbers": ids.json(), "default": ids.default,
            "trunk": req.site.ctx.settings.trunk.caller_id}


async def get_caller_ids(req: RouteRequest) -> web.StreamResponse:
    ids = await CallerIdStore(req.site.ctx.db).caller_ids(req.who.tenant_id)
    return reply(_caller_ids_json(req, ids))


CALLER_IDS = ModelBody(CallerIdsFields)


async def set_caller_ids(req: RouteRequest) -> web.StreamResponse:
    """Replace the tenant's outbound numbers (the whole list; none marked default: the first
    is). Queues keep a caller ID that is removed here, but it is no longer presented."""
    try:
        ids = checked_caller_ids(req.body)
    except CallerIdsInvalid as exc:
        raise invalid(exc.problems) from None
    await CallerIdStore(req.site.ctx.db).set_caller_ids(req.who.tenant_id, ids,
                                                        by=req.who.username)
    return reply(_caller_ids_json(req, ids))


ROUTES = [
    Route("GET", "/api/dialing/policy", get_dial_policy, ADMIN,
          "The tenant's dialling policy: countries, allowed and blocked prefixes, roles",
          tag="dialing"),
    Route("PUT", "/api/dialing/policy", set_dial_policy, ADMIN,
          "Set the tenant's dialling policy (premium-rate and other costly kinds of numbers "
          "need an allowed prefix)", body=POLICY, tag="dialing"),
    Route("GET", "/api/dialing/check", check_dial_policy, ADMIN,
          "Whether the tenant's policy lets a number be dialled, and why", query=CHECK,
          tag="dialing"),
    Route("GET", "/api/dialing/caller-ids", get_caller_ids, ANYONE,
          "The tenant's outbound numbers (caller IDs an outside call may present), its default "
          "and the trunk's", tag="dialing"),
    Route("PUT", "/api/dialing/caller-ids", set_caller_ids, ADMIN,
          "Set the tenant's outbound numbers: E.164, a label, one default", body=CALLER_IDS,
          tag="dialing"),
]
