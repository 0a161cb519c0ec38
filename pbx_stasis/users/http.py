"""API of users for admins: list, create, change role/name/password, enable/disable, agent
profile (skills, queues) and a fresh SIP password."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pbx_stasis.acd import settings
from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.acd.service import AgentProfile
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import is_unique_violation
from pbx_stasis.store.tables import Role, User
from pbx_stasis.users.account import AccountChange, AccountFields
from pbx_stasis.validation import ModelBody
from pbx_stasis.web.routing import (
    Route,
    RouteRequest,
    conflict,
    invalid,
    no_content,
    not_found,
    reply,
)

ADMIN = frozenset({Role.ADMIN})


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


async def _user(req: RouteRequest) -> User:
    user_id = req.int_param("user_id", "user")
    async with req.site.ctx.db.session() as session:
        user = await session.scalar(
            select(User).where(User.id == user_id, User.tenant_id == req.who.tenant_id)
        )
    if user is None:
        raise not_found("user")
    return user


async def list_users(req: RouteRequest) -> web.StreamResponse:
    statement = (
        select(User).where(User.tenant_id == req.who.tenant_id).order_by(User.username, User.id)
    )
    async with req.site.ctx.db.session() as session:
        users = list(await session.scalars(statement))
    return reply({"users": [user_json(user) for user in users]})


NEW_USER = ModelBody(AccountFields, defaults=True)


async def create_user(req: RouteRequest) -> web.StreamResponse:
    body = req.body  # checked by the rules `pbx user add` applies too (users/account.py)
    username, display_name = body["username"], body["display_name"]
    password_hash = await req.site.passwords.hash(body["password"])
    row = User(
        tenant_id=req.who.tenant_id,
        username=username,
        display_name=display_name,
        role=Role(body["role"]),
        password_hash=password_hash,
        created_at=utc_now(),
        disabled=False,
    )
    try:
        async with req.site.ctx.db.transaction() as tx:
            taken = await tx.scalar(
                select(User.id).where(
                    User.tenant_id == req.who.tenant_id, func.lower(User.username) == username
                )
            )
            if taken is not None:
                raise invalid({"username": "is already taken"})
            tx.add(row)
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise invalid({"username": "is already taken"}) from None
        raise
    await acd_of(req).sync_user(req.who.tenant_id, row.id)
    return reply({"user": user_json(row)}, status=201)


USER_CHANGE = ModelBody(AccountChange, defaults=True)


async def update_user(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    user = await _user(req)
    body = req.body
    if user.id == who.user_id and (body.get("disabled") or body.get("role", "admin") != "admin"):
        # An admin locking themselves out could leave a tenant with no admin at all.
        raise conflict("own-account", "You cannot disable yourself or give up your admin role")
    password_hash = None
    display_name = body.get("display_name")
    if "password" in body:
        password_hash = await req.site.passwords.hash(body["password"])
    async with req.site.ctx.db.transaction() as tx:
        row = await tx.get(User, user.id)
        if row is None:
            raise not_found("user")
        role_changed = "role" in body and Role(body["role"]) is not row.role
        disabled_changed = "disabled" in body and body["disabled"] != row.disabled
        if display_name is not None:
            row.display_name = display_name
        if "role" in body:
            row.role = Role(body["role"])
        if "disabled" in body:
            row.disabled = body["disabled"]
        if password_hash is not None:
            row.password_hash = password_hash
        updated = user_json(row)
    if password_hash is not None or (disabled_changed and body["disabled"]):
        closed = await req.site.sessions.close_all(user.id)
        await req.site.sockets.close_sessions(closed, "logged out by an administrator")
    elif role_changed:
        # Open feeds were allowed their topics under the old role.
        await req.site.sockets.close_user(user.id, "role changed")
    if role_changed or disabled_changed:
        await acd_of(req).sync_user(who.tenant_id, user.id)
    return reply({"user": updated})


async def get_agent_profile(req: RouteRequest) -> web.StreamResponse:
    user = await _user(req)
    profile = await acd_of(req).agent_profile(req.who.tenant_id, user.id)
    return reply({"skills": dict(profile.skills), "queues": list(profile.queues)})


# The agent's schema (acd/settings.py), which `pbx agent set` and the directory go through too.
AGENT_PROFILE = ModelBody(settings.AgentProfileFields)


async def set_agent_profile(req: RouteRequest) -> web.StreamResponse:
    user = await _user(req)
    wanted = AgentProfile(skills=req.body["skills"], queues=tuple(req.body["queues"]))
    profile = await acd_of(req).update_agent_profile(req.who.tenant_id, user.id, wanted)
    return reply({"skills": dict(profile.skills), "queues": list(profile.queues)})


async def reset_sip_password(req: RouteRequest) -> web.StreamResponse:
    user = await _user(req)
    await acd_of(req).reset_sip_password(req.who.tenant_id, user.id)
    return no_content()


ROUTES = [
    Route("GET", "/api/users", list_users, ADMIN, "Users of my tenant", tag="users"),
    Route("POST", "/api/users", create_user, ADMIN, "Create a user", body=NEW_USER, tag="users"),
    Route(
        "PATCH",
        "/api/users/{user_id}",
        update_user,
        ADMIN,
        "Change a user's name, role, password or disable them (their sessions end)",
        body=USER_CHANGE,
        tag="users",
    ),
    Route(
        "GET",
        "/api/users/{user_id}/agent",
        get_agent_profile,
        ADMIN,
        "An agent's skills and queues",
        tag="users",
    ),
    Route(
        "PUT",
        "/api/users/{user_id}/agent",
        set_agent_profile,
        ADMIN,
        "Set an agent's skills and queues",
        body=AGENT_PROFILE,
        tag="users",
    ),
    Route(
        "POST",
        "/api/users/{user_id}/sip-password",
        reset_sip_password,
        ADMIN,
        "Give the user's softphone a new random SIP password",
        tag="users",
    ),
]
