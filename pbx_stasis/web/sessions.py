"""Server-side login sessions: opened at login, found by cookie, closed on logout or expiry."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role, Tenant, User
from pbx_stasis.web.tables import WebSession

COOKIE = "pbx_session"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts: `idle` without any request, `absolute` whatever happens."""

    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)
    # last_seen_at is written at most this often, not on every request.
    touch_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user of a valid session. Role and tenant come from the database on
    every request, so a role change or a disabled account applies at once."""

    session_id: str
    csrf_token: str
    user_id: int
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    username: str
    display_name: str
    role: Role
    # When it stops being valid: a session's end (absolute or idle, whichever is first); an API
    # token's own expiry, None for a token that never expires.
    expires_at: datetime | None
    # Set when an API token speaks (web/tokens.py), not a browser's session: no CSRF then.
    token_id: int | None = None


def session_id(token: str) -> str:
    """The stored id of a cookie token (its SHA-256): the database never holds the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class Sessions:
    def __init__(self, db: Database, policy: SessionPolicy, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._policy = policy
        self._clock = clock

    async def open(self, user_id: int, tenant_id: int, ip: str, user_agent: str) -> str:
        """Start a session for a user who just proved who they are; returns the cookie token."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        row = WebSession(
            id=session_id(token),
            tenant_id=tenant_id,
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._policy.absolute,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
        async with self._db.transaction() as tx:
            tx.add(row)
        return token

    async def resolve(self, token: str) -> Principal | None:
        """The principal of a live session, None if the token is unknown, expired or its user
        disabled. Expired sessions are deleted when met."""
        if not token or len(token) > 200:
            return None
        sid = session_id(token)
        now = self._clock()
        statement = (
            select(WebSession, User, Tenant)
            .join(User, User.id == WebSession.user_id)
            .join(Tenant, Tenant.id == WebSession.tenant_id)
            .where(WebSession.id == sid)
        )
        async with self._db.session() as session:
            row = (await session.execute(statement)).first()
        if row is None:
            return None
        web_session, user, tenant = row
        expired = (
            now >= web_session.expires_at
            or now - web_session.last_seen_at >= self._policy.idle
            or user.disabled
            or user.tenant_id != web_session.tenant_id
        )
        if expired:
            await self.close(sid)
            return None
        if now - web_session.last_seen_at >= self._policy.touch_every:
            async with self._db.transaction() as tx:
                await tx.execute(
                    update(WebSession).where(WebSession.id == sid).values(last_seen_at=now)
                )
        return Principal(
            session_id=sid,
            csrf_token=web_session.csrf_token,
            user_id=user.id,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tenant_name=tenant.name,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            expires_at=min(web_session.expires_at, now + self._policy.idle),
        )

    async def close(self, sid: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(delete(WebSession).where(WebSession.id == sid))

    async def close_all(self, user_id: int, *, keep: str | None = None) -> list[str]:
        """Log a user out everywhere (but the session `keep`); returns the ids closed."""
        statement = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            statement = statement.where(WebSession.id != keep)
        async with self._db.transaction() as tx:
            closed = await tx.scalars(statement.returning(WebSession.id))
            return list(closed)

    async def purge_expired(self) -> int:
        now = self._clock()
        statement = delete(WebSession).where(
            or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - self._policy.idle)
        )
        async with self._db.transaction() as tx:
            result = await tx.execute(statement)
            return int(getattr(result, "rowcount", 0) or 0)
