"""HTTP routes of call scripts: the admin's editor (versions, restore, retire) and the script of
a call, filled for the agent on it."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from pbx_stasis.callscripts.core import ScriptBody, filled
from pbx_stasis.callscripts.service import CALL_SCRIPTS, CallScripts, call_values, version_json
from pbx_stasis.crm.http import own_call
from pbx_stasis.crm.service import crm_of
from pbx_stasis.store.tables import Direction, Role, User
from pbx_stasis.validation import WHOLE, Model, ModelBody, Whole
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    at_least,
    invalid,
    no_content,
    not_found,
    reply,
)

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def scripts_of(req: RouteRequest) -> CallScripts:
    return req.http.app[CALL_SCRIPTS]


def _name(req: RouteRequest, *, new: bool = False) -> str:
    name = req.param("name")
    if NAME.fullmatch(name) is None:
        if new:
            raise invalid({"name": "is 1-64 lower-case letters, digits, - or _"})
        raise not_found("script")
    return name


async def list_scripts(req: RouteRequest) -> web.StreamResponse:
    found = await scripts_of(req).current(req.who.tenant_id, with_retired=True)
    return reply({"scripts": [version_json(item) for item in found]})


async def script_versions(req: RouteRequest) -> web.StreamResponse:
    found = await scripts_of(req).versions(req.who.tenant_id, _name(req))
    if not found:
        raise not_found("script")
    return reply({"name": found[0].name, "versions": [version_json(item) for item in found]})


SCRIPT = ModelBody(ScriptBody, defaults=True)


async def save_script(req: RouteRequest) -> web.StreamResponse:
    body = ScriptBody.model_validate(req.body)
    saved = await scripts_of(req).save(req.who.tenant_id, _name(req, new=True), body,
                                       req.who.user_id, req.site.now())
    return reply({"script": version_json(saved)}, status=201 if saved.version == 1 else 200)


class Restore(Model):
    """POST /api/call-scripts/{name}/restore: the version whose text becomes the newest."""

    version: Annotated[Whole, Field(ge=1, le=1_000_000), WHOLE]


RESTORE = ModelBody(Restore)


async def restore_script(req: RouteRequest) -> web.StreamResponse:
    versions = await scripts_of(req).versions(req.who.tenant_id, _name(req))
    if not versions:
        raise not_found("script")
    wanted = next((v for v in versions if v.version == req.body["version"]), None)
    if wanted is None:
        raise invalid({"version": f"is not a version of {versions[0].name}"})
    saved = await scripts_of(req).save(req.who.tenant_id, wanted.name, wanted.body,
                                       req.who.user_id, req.site.now())
    return reply({"script": version_json(saved)})


async def retire_script(req: RouteRequest) -> web.StreamResponse:
    versions = await scripts_of(req).versions(req.who.tenant_id, _name(req))
    if not versions or versions[0].retired:
        raise not_found("script")
    await scripts_of(req).save(req.who.tenant_id, versions[0].name, versions[0].body,
                               req.who.user_id, req.site.now(), retired=True)
    return no_content()


async def call_script(req: RouteRequest) -> web.StreamResponse:
    """The script of a call (its IVR path's, its queue's, or the default), filled with the
    contact's, the call's, the agent's and the IVR's values; null when none applies."""
    call = await own_call(req, req.param("call_id"))
    tenant_id = req.who.tenant_id
    chosen, trail = await scripts_of(req).for_call(tenant_id, call)
    if chosen is None:
        return reply({"script": None})
    number = call.from_number if call.direction is Direction.INBOUND else call.to_number
    contacts = await crm_of(req).contacts.by_phone(tenant_id, number)
    async with req.site.ctx.db.session() as session:
        agent = await session.scalar(select(User.display_name).where(
            User.id == (call.agent_user_id or req.who.user_id)))
    values = call_values(call, contacts[0] if contacts else None, agent, trail)
    script = filled(chosen.name, chosen.version, chosen.body, values)
    return reply({"script": asdict(script)})


ROUTES = [
    Route("GET", "/api/call-scripts", list_scripts, at_least(Role.SUPERVISOR),
          "Call scripts: the newest version of each (retired ones marked)", tag="call-scripts"),
    Route("GET", "/api/call-scripts/{name}", script_versions, at_least(Role.SUPERVISOR),
          "Every version of a call script, newest first", tag="call-scripts"),
    Route("PUT", "/api/call-scripts/{name}", save_script, frozenset({Role.ADMIN}),
          "Save a call script (a new version)", body=SCRIPT, tag="call-scripts"),
    Route("POST", "/api/call-scripts/{name}/restore", restore_script, frozenset({Role.ADMIN}),
          "Make an earlier version's text the newest", body=RESTORE, tag="call-scripts"),
    Route("DELETE", "/api/call-scripts/{name}", retire_script, frozenset({Role.ADMIN}),
          "Retire a call script (its versions stay)", tag="call-scripts"),
    Route("GET", "/api/calls/{call_id}/script", call_script, ANYONE,
          "The script of a call, filled with the contact's, call's and IVR's values",
          tag="call-scripts"),
]
