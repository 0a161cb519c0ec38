"""API tokens for machine clients: `Authorization: Bearer <token>` instead of a session.

An admin makes a token with a name and a role (never above their own); it is shown once and
only its SHA-256 is stored. The kernel resolves it like a session (`Site.principal_of`), so
every route keeps its role and tenant checks; CSRF does not apply (a browser never sends the
header on its own). A token acts as the admin who made it, with its role capped by that user's
current one: a demoted or disabled admin's tokens shrink or stop with them.

A token may expire (a date given at its making: it works through that day, UTC) and be rotated:
a new secret for the same token (name, role, last use), the old secret still accepted for a
short overlap so its client can switch without a failed request. An expired token, or an old
secret past its overlap, gets a 401 that says so (`token-expired`, `token-rotated`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import or_, select, update

from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role, Tenant, User
from pbx_stasis.validation import WHOLE, Day, Model, ModelBody, Whole, text
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
OVERLAP_S = 3600  # a rotated token's old secret works this long by default (at most a day)
MAX_OVERLAP_S = 86400


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
    expires_at: datetime | None = None
    rotated_at: datetime | None = None
    old_valid_until: datetime | None = None  # the previous secret works until then

    def state(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and now >= self.expires_at else "active"


@dataclass(frozen=True)
class Refused:
    """Why a known token is refused, told to its client (401)."""

    code: str
    message: str


def expiry(day: date) -> datetime:
    """When a token valid through `day` (UTC) stops: the next midnight, UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def lower_role(a: Role, b: Role) -> Role:
    return a if RANK[a] <= RANK[b] else b


class ApiTokens:
    """The tokens of every tenant: made, listed, revoked, and resolved to a Principal."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    async def create(self, tenant_id: int, user_id: int, name: str, role: Role,
                     expires_at: datetime | None = None) -> tuple[TokenRecord, str]:
        """A new token of the user (the caller checked the role); the token itself is returned
        once here and never again."""
        token = PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        row = ApiToken(tenant_id=tenant_id, user_id=user_id, name=name, role=role.value,
                       hash=token_hash(token), prefix=token[:SHOWN], created_at=now,
                       expires_at=expires_at)
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

    async def rotate(self, tenant_id: int, token_id: int, overlap: timedelta
                     ) -> tuple[TokenRecord, str] | None:
        """A new secret for a live token of the tenant; its current one keeps working for
        `overlap` (a secret rotated before is dropped at once). None: no such live token."""
        token = PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        async with self._db.transaction() as tx:
            row = await tx.get(ApiToken, token_id)
            if row is None or row.tenant_id != tenant_id or row.revoked_at is not None:
                return None
            if row.expires_at is not None and now >= row.expires_at:
                return None
            row.old_hash = row.hash if overlap > timedelta(0) else None
            row.old_valid_until = now + overlap if overlap > timedelta(0) else None
            row.hash = token_hash(token)
            row.prefix = token[:SHOWN]
            row.rotated_at = now
            await tx.flush()
            user = await tx.get(User, row.user_id)
            record = _record(row, user.username if user else "?")
        return record, token

    async def resolve(self, token: str) -> Principal | Refused | None:
        """Who a token speaks for; Refused when it expired or is a rotated secret past its
        overlap; None if it is unknown, revoked or its user disabled."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        hashed = token_hash(token)
        statement = (
            select(ApiToken, User, Tenant)
            .join(User, User.id == ApiToken.user_id)
            .join(Tenant, Tenant.id == ApiToken.tenant_id)
            .where(or_(ApiToken.hash == hashed, ApiToken.old_hash == hashed))
        )
        async with self._db.session() as session:
            found = (await session.execute(statement)).first()
        if found is None:
            return None
        row, user, tenant = found
        if row.revoked_at is not None or user.disabled or user.tenant_id != row.tenant_id:
            return None
        now = self._clock()
        if row.expires_at is not None and now >= row.expires_at:
            return Refused("token-expired", f"This API token expired at "
                           f"{row.expires_at.isoformat()}; an admin makes a new one")
        if row.hash != hashed and (row.old_valid_until is None or now >= row.old_valid_until):
            return Refused("token-rotated", "This API token's secret was replaced (rotated); "
                           "use the new secret")
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            async with self._db.transaction() as tx:
                await tx.execute(update(ApiToken).where(ApiToken.id == row.id)
                                 .values(last_used_at=now))
        return Principal(
            session_id=token_session(row.id), csrf_token="", user_id=user.id,
            tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
            username=user.username, display_name=f"{user.display_name} (token {row.name})",
            role=lower_role(Role(row.role), user.role), expires_at=row.expires_at,
            token_id=row.id,
        )


def token_session(token_id: int) -> str:
    """The session id a token's principal carries (its feed sockets close on revocation)."""
    return f"token:{token_id}"


def _record(row: ApiToken, created_by: str) -> TokenRecord:
    return TokenRecord(id=row.id, name=row.name, role=Role(row.role), prefix=row.prefix,
                       created_by=created_by, created_at=row.created_at,
                       last_used_at=row.last_used_at, revoked_at=row.revoked_at,
                       expires_at=row.expires_at, rotated_at=row.rotated_at,
                       old_valid_until=row.old_valid_until)


# --- routes (admins) -------------------------------------------------------------------------

class NewToken(Model):
    """POST /api/tokens: what the token is for, and the role it acts with."""

    name: Annotated[str, text(max_length=100)]
    role: Role
    expires_on: Day | None = None  # works through this day (UTC); left out: never expires


class Rotation(Model):
    """POST /api/tokens/{id}/rotate: how long the current secret keeps working (seconds)."""

    overlap_s: Annotated[Whole, Field(ge=0, le=MAX_OVERLAP_S), WHOLE] = OVERLAP_S


def token_json(record: TokenRecord, now: datetime) -> dict[str, Any]:
    state = record.state(now)
    old_until = record.old_valid_until
    return {"id": record.id, "name": record.name, "role": record.role, "prefix": record.prefix,
            "created_by": record.created_by, "created_at": record.created_at,
            "last_used_at": record.last_used_at, "revoked_at": record.revoked_at,
            "expires_at": record.expires_at, "rotated_at": record.rotated_at,
            "old_valid_until": old_until if old_until is not None and now < old_until else None,
            "state": state, "active": state == "active"}


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
    day = req.body.get("expires_on")
    if day is not None and day < req.site.now().astimezone(UTC).date():
        raise invalid({"expires_on": "must be today or later"})
    record, token = await req.site.tokens.create(
        req.who.tenant_id, req.who.user_id, req.body["name"], role,
        expiry(day) if day is not None else None)
    return reply({"token": token, **token_json(record, req.site.now())}, status=201)


async def rotate_token(req: RouteRequest) -> web.StreamResponse:
    _no_token(req)
    token_id = req.int_param("token_id", "token")
    rotated = await req.site.tokens.rotate(
        req.who.tenant_id, token_id, timedelta(seconds=req.body["overlap_s"]))
    if rotated is None:
        raise not_found("token")
    record, token = rotated
    return reply({"token": token, **token_json(record, req.site.now())})


async def list_tokens(req: RouteRequest) -> web.StreamResponse:
    records = await req.site.tokens.list(req.who.tenant_id)
    now = req.site.now()
    return reply({"tokens": [token_json(record, now) for record in records]})


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
          "Make an API token (`Authorization: Bearer`), optionally expiring (`expires_on`); the "
          "answer's `token` is shown once",
          body=ModelBody(NewToken, defaults=True, dates=True), tag="tokens"),
    Route("POST", "/api/tokens/{token_id}/rotate", rotate_token, ADMIN,
          "A new secret for an API token (shown once); the current one keeps working for "
          "`overlap_s` seconds (default an hour)", body=ModelBody(Rotation, defaults=True),
          tag="tokens"),
    Route("DELETE", "/api/tokens/{token_id}", revoke_token, ADMIN,
          "Revoke an API token (at once, its feed sockets closed)", tag="tokens"),
]
