"""The ACD as the kernel takes it: the agent's own state, the wallboard, queues, live call control
(their routes and the queues' admin page), the `pbx queue|agent|journal|export` commands, and the
feed topics of agents, queues and calls."""

from __future__ import annotations

from pbx_stasis.acd.http import calls, me, pages, queues, wallboard
from pbx_stasis.acd.http.control import ACD
from pbx_stasis.acd.service import ACD_SERVICE
from pbx_stasis.acd.topics import AGENT_STATE, QUEUE_STATS
from pbx_stasis.calls.events import CALL_ENDED, CALL_INCOMING, CALL_STATE
from pbx_stasis.plugin import LiveService, Plugin

PLUGIN = Plugin(
    "acd",
    routes=(*me.ROUTES, *wallboard.ROUTES, *queues.ROUTES, *calls.ROUTES, *pages.ROUTES),
    topics=(CALL_INCOMING, CALL_STATE, CALL_ENDED, AGENT_STATE, QUEUE_STATS),
    services=(LiveService(ACD_SERVICE, ACD),),
)
