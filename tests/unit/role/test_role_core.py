"""The controller role's decisions: when a standby takes the role, when the holder fences
itself. No database: what PostgreSQL said comes in as values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.role.core import (
    FENCE_S,
    LEASE_S,
    Claim,
    Holding,
    Lease,
    Renewal,
    Seen,
    claim,
)

STARTED = 1_000.0  # the database server's start (its clock)


def lease(holder: str = "a", renewed_at: float = 2_000.0) -> Lease:
    return Lease(holder, 3, renewed_at, renewed_at + LEASE_S, "http://127.0.0.1:8099")


def test_nobody_held_it_the_first_standby_takes_it() -> None:
    assert claim("b", Seen(True, None, 2_000.0, STARTED)).claim is Claim.TAKE


def test_a_live_holder_session_keeps_it_whatever_the_row_says() -> None:
    for row in (None, lease(), lease(renewed_at=0.0)):
        verdict = claim("b", Seen(False, row, 2_000.5, STARTED))
        assert verdict.claim is Claim.WAIT, verdict


def test_the_holder_died_its_session_ended_the_standby_takes_it_at_once() -> None:
    """kill -9: the lock is free, the row was confirmed in this server's lifetime."""
    verdict = claim("b", Seen(True, lease(renewed_at=2_000.0), 2_000.3, STARTED))
    assert verdict.claim is Claim.TAKE
    assert "session" in verdict.reason


def test_after_a_database_restart_the_holder_has_until_its_lease_ends() -> None:
    """Every session ended with the restart: the holder may be alive and acting; the
    standby waits for it to come back, and takes the role only once the lease ran out."""
    before = lease(renewed_at=2_000.0)
    restarted = 2_010.0
    waiting = claim("b", Seen(True, before, 2_015.0, restarted))
    assert waiting.claim is Claim.WAIT and "restarted" in waiting.reason
    expired = claim("b", Seen(True, before, 2_000.0 + LEASE_S, restarted))
    assert expired.claim is Claim.TAKE and "expired" in expired.reason


def test_a_process_takes_back_its_own_role() -> None:
    assert claim("a", Seen(True, lease("a", 0.0), 2_000.0, STARTED)).claim is Claim.TAKE


def test_the_holder_fences_itself_before_its_lease_ends_elsewhere() -> None:
    """The lease others read lasts longer than the holder acts unconfirmed: never two."""
    assert FENCE_S < LEASE_S
    assert FENCE_S > 15.0  # a database restart of 15 s costs nothing


def test_a_database_restart_of_15_s_keeps_the_role() -> None:
    holding: Holding | None = Holding(0.0)
    for second in range(1, 16):
        assert holding is not None
        holding = holding.after(Renewal.UNREACHABLE, float(second))
    assert holding is not None and holding.left(15.0) == FENCE_S - 15.0
    holding = holding.after(Renewal.CONFIRMED, 16.0)
    assert holding == Holding(16.0)


def test_unconfirmed_for_fence_s_the_holder_stops() -> None:
    assert Holding(0.0).after(Renewal.UNREACHABLE, FENCE_S) is None


def test_taken_the_holder_stops_at_once() -> None:
    assert Holding(0.0).after(Renewal.LOST, 0.5) is None


@given(st.lists(st.tuples(st.sampled_from(list(Renewal)), st.floats(0.0, 3.0)), max_size=60))
def test_the_holder_never_acts_past_fence_s_without_a_confirmation(
        steps: list[tuple[Renewal, float]]) -> None:
    holding: Holding | None = Holding(0.0)
    now = 0.0
    confirmed = 0.0
    for renewal, gap in steps:
        now += gap
        assert holding is not None
        holding = holding.after(renewal, now)
        if renewal is Renewal.CONFIRMED:
            confirmed = now
        if holding is None:
            assert renewal is Renewal.LOST or now - confirmed >= FENCE_S
            return
        assert now - holding.confirmed_at < FENCE_S


@given(st.booleans(), st.none() | st.floats(0.0, 4_000.0), st.floats(1_000.0, 4_000.0),
       st.floats(0.0, 4_000.0))
def test_a_standby_takes_a_live_unexpired_role_only_when_its_session_ended_since_the_start(
        lock_free: bool, renewed: float | None, now: float, started: float) -> None:
    row = lease("a", renewed) if renewed is not None else None
    verdict = claim("b", Seen(lock_free, row, now, started))
    if verdict.claim is Claim.TAKE:
        assert lock_free
        assert row is None or row.expires_at <= now or row.renewed_at >= started
