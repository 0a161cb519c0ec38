"""API of the wallboard: one snapshot (agents, queues, recent journal); then /ws keeps it live."""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web
from sqlalchemy import select

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.http.me import SET_STATE as STATE_CHANGE
from pbx_stasis.acd.http.me import chosen_state
from pbx_stasis.store.tables import CallEvent, Role, User
from pbx_stasis.web.call_access import may_see_call
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import Route, RouteRequest, at_least, reply

log = logging.getLogger(__name__)
RECENT_ACTIVITY = 40
# The journal's events a person watching the floor follows (the page words them); the IVR's
# steps, playbacks and call-log lines stay in the journal.
ACTIVITY_EVENTS = (
    "LOGIN", "LOGOUT", "PAUSE", "UNPAUSE", "ENTERQUEUE", "CONNECT", "RINGNOANSWER", "ABANDON",
    "EXITWITHTIMEOUT", "EXITEMPTY", "TRANSFER", "COMPLETECALLER", "COMPLETEAGENT",
    "WRAPUPEND",
)


async def get_wallboard(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    services = acd_of(req)
    # The floor: members of a queue (not a supervisor's listening softphone).
    agents = [agent for agent in await services.agents(who.tenant_id) if agent.member_of]
    queues = await services.queue_stats(who.tenant_id)
    statement = (
        select(CallEvent, User.display_name)
        .outerjoin(User, User.id == CallEvent.agent_user_id)
        .where(CallEvent.tenant_id == who.tenant_id, CallEvent.event.in_(ACTIVITY_EVENTS))
        .order_by(CallEvent.id.desc())
        .limit(RECENT_ACTIVITY)
    )
    async with req.site.ctx.db.session() as session:
        rows = (await session.execute(statement)).all()
    activity = [
        {
            "at": event.at,
            "event": event.event,
            "call_id": event.call_id,
            "queue": event.queue,
            "agent_user_id": event.agent_user_id,
            "agent_name": name,
            "reason": (event.data or {}).get("reason") if event.event == "PAUSE" else None,
        }
        for event, name in rows
    ]
    return reply(
        {
            "agents": [to_json(agent) for agent in agents],
            "queues": [to_json(queue) for queue in queues],
            "activity": activity,
            "at": req.site.now(),
        }
    )


async def list_agents(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    agents = await acd_of(req).agents(who.tenant_id)
    # Everyone sees who is free to take a transfer; whose call is which, only by the rule.
    shown = [
        agent if may_see_call(who, agent.user_id) else replace(agent, call_id=None)
        for agent in agents
    ]
    return reply({"agents": [to_json(agent) for agent in shown]})


async def force_agent_state(req: RouteRequest) -> web.StreamResponse:
    """A supervisor sets an agent's state: available, paused (with a reason) or offline, also
    out of wrap-up without a disposition (an agent who went home logged in, one stuck)."""
    who = req.who
    user_id = req.int_param("user_id", "agent")
    state, reason = await chosen_state(req)
    agent = await acd_of(req).set_agent_state(who.tenant_id, user_id, state, reason)
    log.info("agent %d set %s by %s (user %d)", user_id, state.value, who.username, who.user_id)
    return reply({"agent": to_json(agent)})


ROUTES = [
    Route(
        "GET",
        "/api/wallboard",
        get_wallboard,
        at_least(Role.SUPERVISOR),
        "Snapshot for the wallboard: agents, queue figures, recent activity",
        tag="wallboard",
    ),
    Route(
        "PUT",
        "/api/agents/{user_id}/state",
        force_agent_state,
        at_least(Role.SUPERVISOR),
        "Set an agent's state (supervisors): available, paused with a reason, offline; ends "
        "wrap-up without a disposition",
        body=STATE_CHANGE,
        tag="wallboard",
    ),
    Route(
        "GET",
        "/api/agents",
        list_agents,
        frozenset(Role),
        "Agents of my tenant with their states (transfer targets)",
        tag="wallboard",
    ),
]
