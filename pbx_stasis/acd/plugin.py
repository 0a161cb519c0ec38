"""The ACD as the kernel takes it: the agent's own state, the wallboard, queues, live call control
(their routes and the queues' admin page), the `pbx queue|agent|journal|export` commands, and the
feed topics of agents, queues and calls."""

from __future__ import annotations

from pbx_stasis.acd.cli import add_admin_commands
from pbx_stasis.acd.http import calls, me, pages, queues, wallboard
from pbx_stasis.acd.topics import AGENT_STATE, QUEUE_STATS
from pbx_stasis.calls.events import CALL_ENDED, CALL_INCOMING, CALL_STATE
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.feed import Topic
from pbx_stasis.web.routing import ANYONE, at_least

# Agents see only the events about themselves: the event's field that holds their user id.
_CALL = Topic(ANYONE, own_key="agent_user_id")

PLUGIN = Plugin(
    "acd",
    routes=(*me.ROUTES, *wallboard.ROUTES, *queues.ROUTES, *calls.ROUTES, *pages.ROUTES),
    topics={
        CALL_INCOMING.name: _CALL,
        CALL_STATE.name: _CALL,
        CALL_ENDED.name: _CALL,
        AGENT_STATE.name: Topic(ANYONE, own_key="user_id"),
        QUEUE_STATS.name: Topic(at_least(Role.SUPERVISOR)),
    },
    commands=add_admin_commands,
)
