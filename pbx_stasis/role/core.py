"""The controller role's decisions, without IO: when a standby may take the role, and when the
active controller must stop acting (fencing). Times come in as arguments.

The role is a lease row in PostgreSQL plus a session-level advisory lock held on the holder's
own connection (lease.py). The lock says whether the holder's database session is alive; the
row says who holds the role, since when, until when (database clock) and where its RPC serves
the web processes. Nothing here is a protocol of our own: PostgreSQL decides who gets the lock
and orders the row's updates; these functions only read what it says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The holder confirms its lease this often.
RENEW_S = 1.0
# A confirmed lease runs this long (database clock): a standby takes the role of a holder that
# stopped confirming after it, whatever the lock says (a holder cut off from the database).
LEASE_S = 30.0
# The holder stops acting this long after its last confirmation (its own monotonic clock):
# before LEASE_S ends, so that a holder cut off from the database has stopped before a standby
# may start. Longer than a database restart (15 s), which must not cost the role.
FENCE_S = 25.0
# A standby looks this often: the lock of a dead holder's session is free at once, so a
# takeover starts within PROBE_S of the holder's death (then the app's start and resync).
PROBE_S = 0.25


@dataclass(frozen=True)
class Lease:
    """The lease row as the database holds it (times in seconds, database clock)."""

    holder: str
    epoch: int
    renewed_at: float
    expires_at: float
    rpc_url: str


@dataclass(frozen=True)
class Seen:
    """What a standby read in one look, all from one connection at one instant: whether it got
    the advisory lock (no session holds it), the row, the database's clock and its start."""

    lock_free: bool
    lease: Lease | None
    now: float
    server_started: float


class Claim(enum.Enum):
    TAKE = "take"
    WAIT = "wait"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    reason: str


def claim(me: str, seen: Seen) -> Verdict:
    """Whether the standby `me` may take the role now, and why (or why not)."""
    lease = seen.lease
    if not seen.lock_free:
        return Verdict(Claim.WAIT, "the active controller's database session holds the lock")
    if lease is None:
        return Verdict(Claim.TAKE, "no controller held the role")
    if lease.holder == me:
        return Verdict(Claim.TAKE, "the role was this process's")
    if lease.expires_at <= seen.now:
        return Verdict(Claim.TAKE, f"the lease of {lease.holder} expired")
    if lease.renewed_at >= seen.server_started:
        # Confirmed in this server's lifetime, and its session is gone: the process died (or
        # its connection broke: it finds the row taken when it reconnects, and stops).
        return Verdict(Claim.TAKE, f"the database session of {lease.holder} ended")
    # Every session ended with a database restart: the holder may still be acting, and comes
    # back to confirm; it has until its lease ends.
    return Verdict(Claim.WAIT, f"the database restarted; {lease.holder} has until its lease "
                               f"ends ({lease.expires_at - seen.now:.1f} s) to come back")


class Renewal(enum.Enum):
    CONFIRMED = "confirmed"  # the row is still ours, renewed
    LOST = "lost"  # the row names another holder (or epoch): someone took the role
    UNREACHABLE = "unreachable"  # no answer, or our session lost the lock and cannot get it back


@dataclass(frozen=True)
class Holding:
    """The active controller's view of its own lease: when it was last confirmed (monotonic)."""

    confirmed_at: float

    def after(self, renewal: Renewal, now: float) -> Holding | None:
        """The holding after one renewal attempt at `now`; None: stop acting now (fenced)."""
        if renewal is Renewal.CONFIRMED:
            return Holding(now)
        if renewal is Renewal.LOST:
            return None
        return self if now - self.confirmed_at < FENCE_S else None

    def left(self, now: float) -> float:
        """Seconds this holder may still act without a confirmation."""
        return max(0.0, FENCE_S - (now - self.confirmed_at))
