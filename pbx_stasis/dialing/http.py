"""API of the dialling policy: an admin reads and sets which outside numbers their tenant may
dial, and tries a number against it."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.dialing.policy import MAX_ENTRIES, MAX_NUMBER_LENGTH, PolicyInvalid, policy_from
from pbx_stasis.dialing.policy_store import DialPolicies, policy_json, verdict_json
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import Route, RouteRequest, invalid, reply
from pbx_stasis.web.shapes import Choice, Fields, Items, Text, optional

ADMIN = frozenset({Role.ADMIN})
PREFIX_HINT = "must be a prefix: + then 1 to 15 digits, not starting with 0"


def _policies(req: RouteRequest) -> DialPolicies:
    return DialPolicies(req.site.ctx.db, req.site.ctx.settings.crm.region)


async def get_dial_policy(req: RouteRequest) -> web.StreamResponse:
    policies = _policies(req)
    policy = await policies.policy(req.who.tenant_id)
    return reply({"policy": policy_json(policy), "home": policies.home})


_PREFIXES = Items(Text(min_length=2, max_length=16, pattern=r"\+[1-9][0-9]{0,14}",
                       hint=PREFIX_HINT), max_items=MAX_ENTRIES, unique=True)
POLICY = Fields(
    {
        "countries": Items(Text(min_length=2, max_length=2, pattern="[A-Za-z]{2}",
                                hint="must be a two-letter country code, e.g. US"),
                           max_items=300, unique=True),
        "allow": optional(_PREFIXES, []),
        "block": optional(_PREFIXES, []),
        "roles": optional(Items(Choice([role.value for role in Role]), max_items=4,
                                unique=True), [Role.AGENT.value, Role.SUPERVISOR.value]),
    }
)


async def set_dial_policy(req: RouteRequest) -> web.StreamResponse:
    """Replace the tenant's policy (every field; absent lists are empty, absent roles the
    default: agents and supervisors)."""
    body = req.body
    try:
        policy = policy_from(countries=body["countries"], allow=body["allow"],
                             block=body["block"], roles=body["roles"])
    except PolicyInvalid as exc:
        raise invalid(exc.problems) from None
    policies = _policies(req)
    await policies.set_policy(req.who.tenant_id, policy, by=req.who.username)
    return reply({"policy": policy_json(policy), "home": policies.home})


CHECK = Fields(
    {
        "number": Text(min_length=1, max_length=MAX_NUMBER_LENGTH),
        "role": optional(Choice([role.value for role in Role]), None),
    }
)


async def check_dial_policy(req: RouteRequest) -> web.StreamResponse:
    """What the policy says about a number (nothing is dialled, nothing journaled)."""
    number = req.query["number"]
    role = Role(req.query["role"]) if req.query["role"] is not None else None
    verdict = await _policies(req).judge(req.who.tenant_id, number, role=role)
    return reply(verdict_json(number, verdict))


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
]
