"""Which calls a user may see: the one rule for call history, contact cards, call control and
what recordings show of their call.

Supervisors and up see every call of their tenant. An agent sees only the calls they took (the
call's agent, `calls.agent_user_id`): another agent's call, or one no agent took, is to them as
if it did not exist, its number, journal, disposition and notes included (404 when named, left
out of lists). Tenants never see each other's calls; every query is by tenant first.
"""

from __future__ import annotations

from pbx_stasis.store.tables import Role
from pbx_stasis.web.sessions import Principal


def sees_all_calls(role: Role) -> bool:
    return role is not Role.AGENT


def only_agent(who: Principal) -> int | None:
    """None: every call of the tenant; else the user whose calls alone this user may see."""
    return None if sees_all_calls(who.role) else who.user_id


def may_see_call(who: Principal, agent_user_id: int | None) -> bool:
    """Whether `who` may see a call of their tenant taken by `agent_user_id` (None: no agent)."""
    return sees_all_calls(who.role) or agent_user_id == who.user_id
