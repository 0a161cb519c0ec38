"""Virtual numbers' pure rules: a masked call's route, a free number for a new pair, the sticky
number of a contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.virtualnumbers.core import (
    Connect,
    MaskedPair,
    Refuse,
    ToAgent,
    ToQueue,
    free_number,
    return_call,
    route_call,
    sticky_number,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
V1, V2 = "+14155550160", "+14155550161"
RIDER, DRIVER, OTHER_DRIVER, STRANGER = ("+14155552001", "+14155552002", "+14155552003",
                                         "+14155552009")


def pair(id_: int, virtual: str, a: str, b: str, minutes: float) -> MaskedPair:
    return MaskedPair(id_, virtual, a, b, NOW + timedelta(minutes=minutes))


def test_each_party_reaches_the_other_through_the_virtual_number() -> None:
    ride = pair(1, V1, RIDER, DRIVER, 30)
    assert route_call([ride], RIDER, V1, NOW) == Connect(ride, DRIVER)
    assert route_call([ride], DRIVER, V1, NOW) == Connect(ride, RIDER)


def test_after_its_expiry_a_mapping_refuses_the_call_and_says_why() -> None:
    ride = pair(1, V1, RIDER, DRIVER, -1)
    assert route_call([ride], RIDER, V1, NOW) == Refuse("expired", ride)
    assert route_call([ride], DRIVER, V1, NOW) == Refuse("expired", ride)
    # The expiry itself is the first refused instant.
    assert route_call([pair(2, V1, RIDER, DRIVER, 0)], RIDER, V1, NOW).reason == "expired"


def test_a_mapping_revoked_by_hand_refuses_the_call_as_revoked() -> None:
    ride = MaskedPair(1, V1, RIDER, DRIVER, NOW, revoked=True)  # ended now, by hand
    assert route_call([ride], DRIVER, V1, NOW) == Refuse("revoked", ride)
    # The latest mapping to end says why: an older expired one does not hide the revocation.
    old = pair(0, V1, RIDER, DRIVER, -60)
    assert route_call([old, ride], RIDER, V1, NOW) == Refuse("revoked", ride)


def test_a_stranger_or_the_wrong_virtual_number_finds_no_mapping() -> None:
    ride = pair(1, V1, RIDER, DRIVER, 30)
    assert route_call([ride], STRANGER, V1, NOW) == Refuse("unknown")
    assert route_call([ride], RIDER, V2, NOW) == Refuse("unknown")


def test_a_live_mapping_wins_over_an_expired_one_of_the_same_caller() -> None:
    old = pair(1, V1, RIDER, OTHER_DRIVER, -10)
    new = pair(2, V1, RIDER, DRIVER, 20)
    assert route_call([old, new], RIDER, V1, NOW) == Connect(new, DRIVER)
    # The old driver's mapping ended: they are refused, not put through to the rider.
    assert route_call([old, new], OTHER_DRIVER, V1, NOW) == Refuse("expired", old)


def test_a_new_pair_gets_a_number_on_which_neither_party_has_a_live_mapping() -> None:
    live = [pair(1, V1, RIDER, DRIVER, 30)]
    assert free_number([V1, V2], live, RIDER, OTHER_DRIVER, NOW) == V2
    assert free_number([V1, V2], live, STRANGER, OTHER_DRIVER, NOW) == V1  # shared number
    assert free_number([V1], live, OTHER_DRIVER, DRIVER, NOW) is None
    assert free_number([V1], [pair(1, V1, RIDER, DRIVER, -1)], RIDER, DRIVER, NOW) == V1
    assert free_number([], [], RIDER, DRIVER, NOW) is None


def test_a_contact_keeps_its_number_and_new_contacts_spread_over_the_pool() -> None:
    pool = [V1, V2]
    assert sticky_number(pool, {}, 7) == V1
    assert sticky_number(pool, {7: V1}, 8) == V2  # the least given
    assert sticky_number(pool, {7: V2, 8: V2}, 7) == V2  # kept while in the pool
    assert sticky_number([V1], {7: V2}, 7) == V1  # its number left the pool: a new one
    assert sticky_number([], {7: V1}, 7) is None


@given(st.dictionaries(st.integers(1, 50), st.sampled_from([V1, V2, "+14155550162"])),
       st.integers(1, 60))
def test_the_sticky_number_is_always_in_the_pool_and_stable(given_: dict[int, str],
                                                            contact: int) -> None:
    pool = [V1, V2]
    number = sticky_number(pool, given_, contact)
    assert number in pool
    assert sticky_number(pool, {**given_, contact: number}, contact) == number


@given(st.lists(st.tuples(st.sampled_from([V1, V2]),
                          st.sampled_from([RIDER, DRIVER, OTHER_DRIVER, STRANGER]),
                          st.sampled_from([RIDER, DRIVER, OTHER_DRIVER, STRANGER]),
                          st.integers(-30, 30)), max_size=8),
       st.sampled_from([RIDER, DRIVER, OTHER_DRIVER, STRANGER]), st.sampled_from([V1, V2]))
def test_a_call_is_only_ever_connected_to_the_other_party_of_a_live_mapping(
        rows: list[tuple[str, str, str, int]], caller: str, virtual: str) -> None:
    pairs = [pair(i, v, a, b, m) for i, (v, a, b, m) in enumerate(rows) if a != b]
    decision = route_call(pairs, caller, virtual, NOW)
    if isinstance(decision, Connect):
        assert decision.pair.live(NOW) and decision.pair.virtual == virtual
        assert {decision.to, caller} == {decision.pair.party_a, decision.pair.party_b}
    else:
        assert not any(p.live(NOW) and p.virtual == virtual and caller in (p.party_a, p.party_b)
                       for p in pairs)


def test_a_customer_calling_back_reaches_their_last_agent_then_the_numbers_queue() -> None:
    assert return_call("alice", True, "support") == (ToAgent("alice"), ToQueue("support"))
    assert return_call("alice", False, "support") == (ToQueue("support"),)  # logged out
    assert return_call(None, False, "support") == (ToQueue("support"),)
    assert return_call("alice", True, None) == (ToAgent("alice"),)
    assert return_call(None, False, None) == ()  # refused: no masked call, nowhere to go
