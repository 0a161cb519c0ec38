"""API of the logged-in user: who am I, my agent state (with the wrap-up rule), my SIP login, my
password."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web

from pbx_stasis.acd.http.control import acd_of, dispositions_saved
from pbx_stasis.acd.model import AgentState
from pbx_stasis.acd.service import SettableState
from pbx_stasis.store.tables import User
from pbx_stasis.validation import Model, ModelBody, left_out, text
from pbx_stasis.web.auth import LoginRefused, password_problem
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    WebError,
    client_ip,
    conflict,
    invalid,
    reply,
)


async def get_me(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    return reply(
        {
            "user": {
                "id": who.user_id,
                "username": who.username,
                "display_name": who.display_name,
                "role": who.role,
            },
            "tenant": {"id": who.tenant_id, "slug": who.tenant_slug, "name": who.tenant_name},
            "csrf_token": who.csrf_token,
            # A browser's session, or the API token that speaks (`expires_at` null: never).
            "session_expires_at": who.expires_at if who.token_id is None else None,
            "token": None if who.token_id is None else {
                "id": who.token_id, "expires_at": who.expires_at},
        }
    )


async def get_my_agent(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    services = acd_of(req)
    agent = await services.agent_status(who.tenant_id, who.user_id)
    reasons = await services.pause_reasons(who.tenant_id)
    wrapup = None
    if agent.state is AgentState.WRAP_UP and agent.call_id:
        saved = await dispositions_saved(req).has_disposition(who.tenant_id, agent.call_id,
                                                              who.user_id)
        wrapup = {"call_id": agent.call_id, "disposition_saved": saved}
    return reply({"agent": to_json(agent), "pause_reasons": reasons, "wrapup": wrapup})


class StateChange(Model):
    """POST /api/me/state: the state an agent chooses, with a reason for a pause."""

    state: SettableState
    reason: Annotated[str, text(min_length=0, max_length=100)] | None = left_out()


SET_STATE = ModelBody(StateChange, defaults=True)


async def chosen_state(req: RouteRequest) -> tuple[SettableState, str | None]:
    """The state a SET_STATE body asks for, with its reason: one of the tenant's pause reasons
    for a pause (400 naming `reason` otherwise), none for the other states."""
    state = SettableState(req.body["state"])
    reason: str | None = req.body.get("reason") or None
    if state is not SettableState.PAUSED:
        return state, None
    reasons = await acd_of(req).pause_reasons(req.who.tenant_id)
    if reason is None:
        raise invalid({"reason": "is required to pause"})
    if reason not in reasons:
        raise invalid({"reason": "must be one of " + ", ".join(reasons)})
    return state, reason


async def set_my_agent_state(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    services = acd_of(req)
    state, reason = await chosen_state(req)
    current = await services.agent_status(who.tenant_id, who.user_id)
    if current.state is AgentState.WRAP_UP and current.call_id:
        if not await dispositions_saved(req).has_disposition(who.tenant_id, current.call_id,
                                                             who.user_id):
            raise conflict(
                "disposition-required",
                "Save a disposition for your last call before leaving wrap-up",
            )
    agent = await services.set_agent_state(who.tenant_id, who.user_id, state, reason)
    return reply({"agent": to_json(agent)})


async def get_my_sip(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    credentials = await acd_of(req).sip_credentials(who.tenant_id, who.user_id)
    return reply(to_json(credentials))


class PasswordChange(Model):
    """POST /api/me/password: the user's own password, changed."""

    current_password: Annotated[str, text(max_length=200)]
    new_password: Annotated[str, text(max_length=200)]


PASSWORD_CHANGE = ModelBody(PasswordChange)


async def change_my_password(req: RouteRequest) -> web.StreamResponse:
    """Change my own password: the current one first, then the rule an admin's new user meets.
    This session stays; every other session of mine ends (one left open elsewhere, or a thief's)."""
    who = req.who
    site = req.site
    current, new = req.body["current_password"], req.body["new_password"]
    errors: dict[str, str] = {}
    problem = password_problem(new)  # the admin's rule (users/http.py): one call, one rule
    if problem:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = "must differ from your current password"
    try:
        # The login desk checks it: a wrong current password counts as a failed login, so a
        # session left open does not let anyone guess the password faster than the login page.
        await site.login_desk.login(who.tenant_slug, who.username, current, client_ip(req.http))
    except LoginRefused as refused:
        if refused.locked:
            raise WebError(429, "too-many-attempts", refused.message) from None
        errors["current_password"] = "is not your current password"
    if errors:
        raise invalid(errors)
    password_hash = await site.passwords.hash(new)
    async with site.ctx.db.transaction() as tx:
        row = await tx.get(User, who.user_id)
        if row is None:  # deleted meanwhile: this session is as good as gone
            raise WebError(401, "unauthenticated", "Log in first")
        row.password_hash = password_hash
    closed = await site.sessions.close_all(who.user_id, keep=who.session_id)
    await site.sockets.close_sessions(closed, "password changed")
    return reply({"other_sessions_ended": len(closed)})


ROUTES = [
    Route("GET", "/api/me", get_me, ANYONE, "The logged-in user, tenant and CSRF token", tag="me"),
    Route(
        "GET",
        "/api/me/agent",
        get_my_agent,
        ANYONE,
        "My agent state, pause reasons and wrap-up",
        tag="me",
    ),
    Route(
        "PUT",
        "/api/me/agent/state",
        set_my_agent_state,
        ANYONE,
        "Go available, paused (with a reason) or offline; refused in wrap-up without disposition",
        body=SET_STATE,
        tag="me",
    ),
    Route(
        "GET",
        "/api/me/sip",
        get_my_sip,
        ANYONE,
        "My softphone's WebRTC registration (WebSocket URL, SIP URI, password)",
        tag="me",
    ),
    Route(
        "POST",
        "/api/me/password",
        change_my_password,
        ANYONE,
        "Change my password (the current one first); my other sessions end, this one stays",
        body=PASSWORD_CHANGE,
        tag="me",
    ),
]
