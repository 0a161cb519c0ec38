"""Password logins: argon2 hashes, and the throttle: a username locked out of one address after
failures; an address, or a username, slowed down (never locked) after many."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

# The password rule lives in store/accounts.py (one for the CLI and the pages); re-exported.
from pbx_stasis.store.accounts import password_problem as password_problem
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Tenant, User
from pbx_stasis.web.tables import LoginAttempt, LoginLockout


class Passwords:
    """argon2id hashing off the event loop (a check takes tens of milliseconds of CPU)."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        # Unknown users are checked against this, so a wrong username costs as much time as a
        # wrong password and response times do not tell which usernames exist.
        self._decoy = hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored or self._decoy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash for users.password_hash (CLI, demo seeding); refuses weak passwords."""
    problem = password_problem(password)
    if problem:
        raise ValueError(f"password {problem}")
    return (hasher or PasswordHasher()).hash(password)


@dataclass(frozen=True)
class LoginPolicy:
    """Against guessing one account's password: `max_failures` wrong passwords for one username
    from one address within `window` lock that pair for `lockout`.

    Against trying many accounts from one place, or one account from many: an address with
    `slow_after_per_ip` failures or more within `window` (over all usernames), or a username
    with `slow_after_per_account` (over all addresses), is slowed down, never locked out (a
    whole office can sit behind one address; anyone can fail logins to someone else's
    account): the next try waits `first_delay`, doubled with every further failure up to
    `max_delay`. A username that logged in from that address within `keep_attempts` is not
    slowed there (its owner is there; the pair's lockout still applies)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    slow_after_per_ip: int = 10
    slow_after_per_account: int = 20
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=1)
    keep_attempts: timedelta = timedelta(days=1)

    def delay(self, failures: int, slow_after: int) -> timedelta:
        """How long to wait after the last of `failures` recent ones, slowed from `slow_after`."""
        if failures < slow_after:
            return timedelta(0)
        doublings = min(failures - slow_after, 30)  # 2**30 s is past any cap
        return min(self.first_delay * (1 << doublings), self.max_delay)


class LoginRefused(Exception):
    """The login did not succeed; `message` is what the login page says, `locked` when it is
    the throttle speaking rather than a wrong password, `retry_after` when it says how long."""

    def __init__(
        self, message: str, *, locked: bool = False, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.locked = locked
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoggedIn:
    user_id: int
    tenant_id: int


def _minutes(delta: timedelta) -> str:
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _seconds(delta: timedelta) -> str:
    seconds = max(1, math.ceil(delta.total_seconds()))
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def throttle_key(tenant_slug: str, username: str) -> str:
    return f"{tenant_slug.strip()}/{username.strip()}".lower()[:200]


class LoginDesk:
    """Checks a login: throttle first, then the password, and records the attempt."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        policy: LoginPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._policy = policy
        self._clock = clock

    async def login(self, tenant_slug: str, username: str, password: str, ip: str) -> LoggedIn:
        """The user behind these credentials, or LoginRefused with a message for the page."""
        key = throttle_key(tenant_slug, username)
        ip = ip[:64]
        now = self._clock()
        await self._refuse_if_locked(key, ip, now)
        statement = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(func.lower(Tenant.slug) == tenant_slug.strip().lower())
            .where(func.lower(User.username) == username.strip().lower())
        )
        async with self._db.session() as session:
            user = await session.scalar(statement)
        stored = user.password_hash if user is not None and not user.disabled else None
        ok = await self._passwords.verify(stored, password)
        if not ok or user is None:
            raise await self._failed(key, ip, now)
        async with self._db.transaction() as tx:
            tx.add(LoginAttempt(at=now, username=key, ip=ip, succeeded=True))
            if stored is not None and self._passwords.needs_rehash(stored):
                fresh = await self._passwords.hash(password)
                row = await tx.get(User, user.id)
                if row is not None:
                    row.password_hash = fresh
        return LoggedIn(user_id=user.id, tenant_id=user.tenant_id)

    async def _refuse_if_locked(self, key: str, ip: str, now: datetime) -> None:
        policy = self._policy
        async with self._db.session() as session:
            until = await session.scalar(
                select(func.max(LoginLockout.until)).where(
                    LoginLockout.username == key, LoginLockout.ip == ip, LoginLockout.until > now
                )
            )
            wait = timedelta(0)
            for same, slow_after in (
                (LoginAttempt.ip == ip, policy.slow_after_per_ip),
                (LoginAttempt.username == key, policy.slow_after_per_account),
            ):
                failures, last_failure = (
                    await session.execute(
                        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
                            same,
                            LoginAttempt.succeeded.is_(False),
                            LoginAttempt.at > now - policy.window,
                        )
                    )
                ).one()
                if last_failure is not None:
                    wait = max(wait, last_failure + policy.delay(failures, slow_after) - now)
            known = False
            if wait > timedelta(0):
                known = (
                    await session.scalar(
                        select(LoginAttempt.id)
                        .where(
                            LoginAttempt.username == key,
                            LoginAttempt.ip == ip,
                            LoginAttempt.succeeded.is_(True),
                            LoginAttempt.at > now - policy.keep_attempts,
                        )
                        .limit(1)
                    )
                ) is not None
        if until is not None:
            raise LoginRefused(
                "Too many failed attempts: this account is locked from your address for "
                f"{_minutes(until - now)} more. Ask an administrator if you forgot your password.",
                locked=True,
                retry_after=until - now,
            )
        if wait > timedelta(0) and not known:
            # Not recorded as an attempt: hammering during the wait does not make it longer.
            raise LoginRefused(
                f"Many failed logins lately: try again in {_seconds(wait)}.",
                locked=True,
                retry_after=wait,
            )

    async def _failed(self, key: str, ip: str, now: datetime) -> LoginRefused:
        """Record a failure, lock the pair out when it was one too many; the refusal to raise."""
        policy = self._policy
        async with self._db.transaction() as tx:
            tx.add(LoginAttempt(at=now, username=key, ip=ip, succeeded=False))
            await tx.flush()
            # Failures count since the later of: the window's start, the last success, the end
            # of the last lockout (a lockout that expired starts the count afresh).
            last_success = await tx.scalar(
                select(func.max(LoginAttempt.at)).where(
                    LoginAttempt.username == key,
                    LoginAttempt.ip == ip,
                    LoginAttempt.succeeded.is_(True),
                )
            )
            last_lockout = await tx.scalar(
                select(func.max(LoginLockout.until)).where(
                    LoginLockout.username == key, LoginLockout.ip == ip
                )
            )
            start = max(
                value for value in (now - policy.window, last_success, last_lockout) if value
            )
            failures = await tx.scalar(
                select(func.count(LoginAttempt.id)).where(
                    LoginAttempt.username == key,
                    LoginAttempt.ip == ip,
                    LoginAttempt.succeeded.is_(False),
                    LoginAttempt.at >= start,
                )
            )
            count = failures or 0
            if count >= policy.max_failures:
                tx.add(LoginLockout(username=key, ip=ip, since=now, until=now + policy.lockout))
        if count >= policy.max_failures:
            return LoginRefused(
                f"Too many failed attempts: this account is locked from your address for "
                f"{_minutes(policy.lockout)}. Ask an administrator if you forgot your password.",
                locked=True,
                retry_after=policy.lockout,
            )
        left = policy.max_failures - count
        return LoginRefused(
            "Wrong organisation, username or password. "
            f"{left} more {'try' if left == 1 else 'tries'} before a lockout of "
            f"{_minutes(policy.lockout)}."
        )

    async def purge(self) -> None:
        """Forget attempts and lockouts older than the policy keeps them."""
        cutoff = self._clock() - self._policy.keep_attempts
        async with self._db.transaction() as tx:
            await tx.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
            await tx.execute(delete(LoginLockout).where(LoginLockout.until < cutoff))
