"""The ACD as the kernel takes it: the agent's own state, the wallboard, queues, live call control
(their routes and the queues' admin page), the `pbx queue|agent|journal|export` commands, and the
feed topics of agents, queues and calls."""

from __future__ import annotations

from pbx_stasis.acd.cli import add_admin_commands
from pbx_stasis.acd.http import calls, me, pages, queues, wallboard
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.feed import Topic
from pbx_stasis.web.routing import ANYONE, at_least

# Agents see only the events about themselves: the payload key that holds their user id.
_CALL = Topic(ANYONE, own_key="agent_user_id")

PLUGIN = Plugin(
    "acd",
    routes=(*me.ROUTES, *wallboard.ROUTES, *queues.ROUTES, *calls.ROUTES, *pages.ROUTES),
    topics={
        "call:incoming": _CALL,
        "call:state": _CALL,
        "call:ended": _CALL,
        "agent:state": Topic(ANYONE, own_key="user_id"),
        "queue:stats": Topic(at_least(Role.SUPERVISOR)),
    },
    commands=add_admin_commands,
)
