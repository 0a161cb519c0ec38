"""Virtual numbers' rules, pure (no IO): which pool number a contact sees (sticky), which one a
new masked pair gets, and what a call to a virtual number does.

A tenant keeps a pool of virtual numbers (its own numbers at the carrier). Each contact is shown
one of them as caller ID, always the same one once given (`sticky_number`). A masked two-party
mapping ties party A, party B and a virtual number until an expiry: a call from A to the
virtual number is connected to B and one from B to A, both sides seeing only the virtual number
(`route_call`). A virtual number serves many mappings at once as long as no party is in two live
mappings of the same number: the caller and the number dialled find one mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MaskedPair:
    """A mapping: `party_a` and `party_b` reach each other through `virtual` until `expires_at`
    (`revoked`: an admin ended it early)."""

    id: int
    virtual: str
    party_a: str
    party_b: str
    expires_at: datetime
    revoked: bool = False

    def live(self, now: datetime) -> bool:
        return now < self.expires_at

    def other(self, caller: str) -> str | None:
        if caller == self.party_a:
            return self.party_b
        if caller == self.party_b:
            return self.party_a
        return None


@dataclass(frozen=True)
class Connect:
    """Ring `to`, presenting the virtual number, and bridge it with the caller."""

    pair: MaskedPair
    to: str


@dataclass(frozen=True)
class Refuse:
    """Refuse the call with an announcement: `expired` (the caller's mapping ended),
    `revoked` (it was ended by hand) or `unknown` (the caller has no mapping on this number)."""

    reason: str
    pair: MaskedPair | None = None


def route_call(pairs: Iterable[MaskedPair], caller: str, virtual: str,
               now: datetime) -> Connect | Refuse:
    """What a call from `caller` to `virtual` does: the caller's live mapping on the number
    connects them to the other party; with only ended ones, the latest to end refuses it
    (`revoked` when it was revoked, else `expired`)."""
    mine = [pair for pair in pairs if pair.virtual == virtual and pair.other(caller) is not None]
    live = [pair for pair in mine if pair.live(now)]
    if live:
        pair = max(live, key=lambda p: (p.expires_at, p.id))
        other = pair.other(caller)
        assert other is not None
        return Connect(pair, other)
    if mine:
        last = max(mine, key=lambda p: (p.expires_at, p.id))
        return Refuse("revoked" if last.revoked else "expired", last)
    return Refuse("unknown")


def free_number(pool: Iterable[str], pairs: Iterable[MaskedPair], party_a: str, party_b: str,
                now: datetime) -> str | None:
    """A pool number for a new mapping of A and B: the first one on which neither is in a live
    mapping (else a call from them would be ambiguous); None when the pool has none."""
    busy = {pair.virtual for pair in pairs if pair.live(now)
            and {pair.party_a, pair.party_b} & {party_a, party_b}}
    return next((number for number in pool if number not in busy), None)


def sticky_number(pool: Iterable[str], given: Mapping[int, str], contact_id: int) -> str | None:
    """The virtual number a contact sees: the one given to it before while it is still in the
    pool, else the pool's least given number (first in the pool on a tie); None: empty pool."""
    numbers = list(pool)
    if not numbers:
        return None
    kept = given.get(contact_id)
    if kept in numbers:
        return kept
    counts = {number: 0 for number in numbers}
    for number in given.values():
        if number in counts:
            counts[number] += 1
    return min(numbers, key=lambda number: (counts[number], numbers.index(number)))


@dataclass(frozen=True)
class ToAgent:
    """Offer the caller to this agent (username) first: they last talked with them."""

    agent: str


@dataclass(frozen=True)
class ToQueue:
    """Put the caller in this queue (the virtual number's)."""

    queue: str


def return_call(last_agent: str | None, agent_logged_in: bool,
                queue: str | None) -> tuple[ToAgent | ToQueue, ...]:
    """Where a customer's call to a virtual number goes when it is no masked call (they were
    shown the number as caller ID and call back): the agent they last talked with while that
    agent is logged in, then (or else) the number's queue; nothing: refused as unknown."""
    steps: list[ToAgent | ToQueue] = []
    if last_agent is not None and agent_logged_in:
        steps.append(ToAgent(last_agent))
    if queue is not None:
        steps.append(ToQueue(queue))
    return tuple(steps)
