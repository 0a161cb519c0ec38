"""API tokens for machine clients: `Authorization: Bearer <token>` instead of a session.

An admin makes a token with a name and a role (never above their own); it is shown once and
only its SHA-256 is stored. The kernel resolves it like a session (`Site.principal_of`), so
every route keeps its role and tenant checks; CSRF does not apply (a browser never sends the
header on its own). A token acts as the admin who made it, with its role capped by that user's
current one: a demoted or disabled admin's tokens shrink or stop with them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from sqlalchemy import select, update

from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role, Tenant, User
from pbx_stasis.validation import Model, ModelBody, text
from pbx_stasis.web.routing import (
    RANK,
    Route,
    RouteRequest,
    WebError,
    invalid,
    no_content,
    not_found,
    reply,
)
from pbx_stasis.web.sessions import Principal
from pbx_stasis.web.tables import ApiToken

PREFIX = "pbx_"
SHOWN = 12  # characters of a token kept to tell tokens apart in lists ("pbx_" and 8 more)
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at written at most this often


def token_hash(token: str) -> str:
    """The stored form of a token. A plain SHA-256 suffices (no slow hash): the token is 256
    random bits, so there is no dictionary to try, unlike a password."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header ("" for a malformed one), None when
    the request does not use one."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    role: Role
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def lower_role(a: Role, b: Role) -> Role:
    return a if RANK[a] <= RANK[b] else b


class ApiTokens:
    """The tokens of every tenant: made, listed, revoked, and resolved to a Principal."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    async def create(self, tenant_id: int, user_id: int, name: str, role: Role
                     ) -> tuple[TokenRecord, str]:
        """A new token of the user (the caller checked the role); the token itself is returned
        once here and never again."""
        token = PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        row = ApiToken(tenant_id=tenant_id, user_id=user_id, name=name, role=role.value,
                       hash=token_hash(token), prefix=token[:SHOWN], created_at=now)
        async with self._db.transaction() as tx:
            tx.add(row)
            await tx.flush()
            user = await tx.get(User, user_id)
            record = _record(row, user.username if user else "?")
        return record, token

    async def list(self, tenant_id: int) -> list[TokenRecord]:
        statement = (select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                     .where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.id))
        async with self._db.session() as session:
            rows = (await session.execute(statement)).all()
        return [_record(row, username) for row, username in rows]

    async def revoke(self, tenant_id: int, token_id: int) -> bool:
        """Revoke a token of the tenant (again: no change); False if it has no such token."""
        async with self._db.transaction() as tx:
            row = await tx.get(ApiToken, token_id)
            if row is None or row.tenant_id != tenant_id:
                return False
            if row.revoked_at is None:
                row.revoked_at = self._clock()
        return True

    async def resolve(self, token: str) -> Principal | None:
        """Who a token speaks for, None if it is unknown, revoked or its user disabled."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        statement = (
            select(ApiToken, User, Tenant)
            .join(User, User.id == ApiToken.user_id)
            .join(Tenant, Tenant.id == ApiToken.tenant_id)
            .where(ApiToken.hash == token_hash(token))
        )
        async with self._db.session() as session:
            found = (await session.execute(statement)).first()
        if found is None:
            return None
        row, user, tenant = found
        if row.revoked_at is not None or user.disabled or user.tenant_id != row.tenant_id:
            return None
        now = self._clock()
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            async with self._db.transaction() as tx:
                await tx.execute(update(ApiToken).where(ApiToken.id == row.id)
                                 .values(last_used_at=now))
        return Principal(
            session_id=token_session(row.id), csrf_token="", user_id=user.id,
            tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
            username=user.username, display_name=f"{user.display_name} (token {row.name})",
            role=lower_role(Role(row.role), user.role), expires_at=now + TOUCH_EVERY,
            token_id=row.id,
        )


def token_session(token_id: int) -> str:
    """The session id a token's principal carries (its feed sockets close on revocation)."""
    return f"token:{token_id}"


def _record(row: ApiToken, created_by: str) -> TokenRecord:
    return TokenRecord(id=row.id, name=row.name, role=Role(row.role), prefix=row.prefix,
                       created_by=created_by, created_at=row.created_at,
                       last_used_at=row.last_used_at, revoked_at=row.revoked_at)


# --- routes (admins) -------------------------------------------------------------------------

class NewToken(Model):
    """POST /api/tokens: what the token is for, and the role it acts with."""

    name: Annotated[str, text(max_length=100)]
    role: Role


def token_json(record: TokenRecord) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "role": record.role, "prefix": record.prefix,
            "created_by": record.created_by, "created_at": record.created_at,
            "last_used_at": record.last_used_at, "revoked_at": record.revoked_at,
            "active": record.revoked_at is None}


def _no_token(req: RouteRequest) -> None:
    # A token never mints or revokes tokens: a leaked one must not be able to make itself a
    # successor that outlives its revocation.
    if req.who.token_id is not None:
        raise WebError(403, "forbidden", "API tokens are managed from a login session")


async def create_token(req: RouteRequest) -> web.StreamResponse:
    _no_token(req)
    role = Role(req.body["role"])
    if RANK[role] > RANK[req.who.role]:
        raise invalid({"role": "may not be above your own role"})
    record, token = await req.site.tokens.create(
        req.who.tenant_id, req.who.user_id, req.body["name"], role)
    return reply({"token": token, **token_json(record)}, status=201)


async def list_tokens(req: RouteRequest) -> web.StreamResponse:
    records = await req.site.tokens.list(req.who.tenant_id)
    return reply({"tokens": [token_json(record) for record in records]})


async def revoke_token(req: RouteRequest) -> web.StreamResponse:
    _no_token(req)
    token_id = req.int_param("token_id", "token")
    if not await req.site.tokens.revoke(req.who.tenant_id, token_id):
        raise not_found("token")
    await req.site.sockets.close_sessions([token_session(token_id)], "token revoked")
    return no_content()


ADMIN = frozenset({Role.ADMIN})
ROUTES = [
    Route("GET", "/api/tokens", list_tokens, ADMIN, "The tenant's API tokens (never the "
          "tokens themselves: their first characters, role, last use)", tag="tokens"),
    Route("POST", "/api/tokens", create_token, ADMIN,
          "Make an API token (`Authorization: Bearer`); the answer's `token` is shown once",
          body=ModelBody(NewToken), tag="tokens"),
    Route("DELETE", "/api/tokens/{token_id}", revoke_token, ADMIN,
          "Revoke an API token (at once, its feed sockets closed)", tag="tokens"),
]
