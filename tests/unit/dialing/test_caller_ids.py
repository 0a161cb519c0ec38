"""Which caller ID an outside call presents (dialing/caller_ids.py), and a tenant's numbers as
an admin writes them: never the number being called, never a number the tenant does not own."""

from __future__ import annotations

from typing import Any

import pytest

from pbx_stasis.dialing.caller_ids import (
    CallerIds,
    CallerIdsInvalid,
    NotOwnedNumber,
    OutboundNumber,
    Presented,
    caller_id_header,
    checked_caller_ids,
    e164,
    for_own_call,
    for_transfer,
)

SALES, SUPPORT, TRUNK = "+14155550100", "+14155550111", "+14155550177"
NUMBERS = CallerIds((OutboundNumber(SALES, "Sales", default=True),
                     OutboundNumber(SUPPORT, "Support")))


def test_a_chosen_number_wins_when_the_tenant_owns_it() -> None:
    assert for_own_call(NUMBERS, chosen=SUPPORT, queue_caller_ids=[SALES], trunk=TRUNK) == \
        Presented(SUPPORT, "chosen")


def test_a_chosen_number_the_tenant_does_not_own_is_refused() -> None:
    with pytest.raises(NotOwnedNumber, match=r"\+14155550199 is not one of your numbers"):
        for_own_call(NUMBERS, chosen="+14155550199", trunk=TRUNK)
    with pytest.raises(NotOwnedNumber):  # a tenant without numbers owns none, trunk or not
        for_own_call(CallerIds(), chosen=TRUNK, trunk=TRUNK)


@pytest.mark.parametrize(
    ("queues", "expected"),
    [
        ([SUPPORT], Presented(SUPPORT, "queue")),
        ([SUPPORT, None, SUPPORT], Presented(SUPPORT, "queue")),  # every queue that has one
        ([SUPPORT, SALES], Presented(SALES, "tenant")),  # they disagree: the tenant's default
        ([None], Presented(SALES, "tenant")),
        (["+14155550122"], Presented(SALES, "tenant")),  # no longer the tenant's: skipped
        ([], Presented(SALES, "tenant")),
    ],
)
def test_an_agents_queues_give_the_default_when_they_agree(
    queues: list[str | None], expected: Presented
) -> None:
    assert for_own_call(NUMBERS, queue_caller_ids=queues, trunk=TRUNK) == expected


def test_without_numbers_of_its_own_a_tenant_presents_the_trunks_else_none() -> None:
    assert for_own_call(CallerIds(), queue_caller_ids=[SALES], trunk=TRUNK) == \
        Presented(TRUNK, "trunk")
    assert for_own_call(CallerIds()) == Presented(None, "none")


def test_a_transferred_caller_shows_the_queues_number_else_their_own() -> None:
    caller = "+14155550143"
    assert for_transfer(NUMBERS, queue_caller_id=SUPPORT, caller=caller) == \
        Presented(SUPPORT, "queue")
    assert for_transfer(NUMBERS, queue_caller_id=None, caller=caller) == \
        Presented(caller, "caller")
    assert for_transfer(CallerIds(), queue_caller_id=SUPPORT, caller=caller) == \
        Presented(caller, "caller")  # a number removed from the tenant's is not presented


def test_the_number_is_both_the_display_name_and_the_user() -> None:
    assert caller_id_header(SALES) == f'"{SALES}" <{SALES}>'
    assert caller_id_header(None) is None


def test_numbers_are_read_as_e164_and_the_first_is_the_default_when_none_is() -> None:
    ids = checked_caller_ids({"numbers": [{"number": "+1 (415) 555-0100", "label": "Sales"},
                                          {"number": "+971 4 555 0200"}]})
    assert ids.numbers == (OutboundNumber(SALES, "Sales", True),
                           OutboundNumber("+97145550200", "", False))
    assert ids.default == SALES and ids.owns("+97145550200") and not ids.owns(None)
    assert checked_caller_ids({"numbers": []}) == CallerIds()
    marked = checked_caller_ids({"numbers": [{"number": SALES}, {"number": SUPPORT,
                                                                  "default": True}]})
    assert marked.default == SUPPORT


@pytest.mark.parametrize(
    ("numbers", "problems"),
    [
        ([{"number": "4155550100"}],
         {"numbers.0.number": "must be a phone number in international form, e.g. "
                              "+14155550100"}),
        ([{"number": "+15559876543"}],
         {"numbers.0.number": "+15559876543 is not a valid phone number"}),
        ([{"number": SALES}, {"number": "+1 415 555 0100"}],
         {"numbers": "+14155550100 is listed twice (numbers.1)"}),
        ([{"number": SALES, "default": True}, {"number": SUPPORT, "default": True}],
         {"numbers": "only one number can be the default (+14155550100, "
                     "+14155550111)"}),
        ([{"number": SALES, "default": "yes"}], {"numbers.0.default": "must be true or false"}),
        ([{"number": SALES, "label": "x" * 65}],
         {"numbers.0.label": "must be at most 64 characters"}),
        ([{"number": SALES, "owner": "me"}], {"numbers.0.owner": "is not a known field"}),
    ],
)
def test_bad_numbers_are_named_by_field(numbers: list[dict[str, Any]],
                                        problems: dict[str, str]) -> None:
    with pytest.raises(CallerIdsInvalid) as refused:
        checked_caller_ids({"numbers": numbers})
    assert refused.value.problems == problems


def test_e164_refuses_what_is_not_a_number() -> None:
    assert e164(" +44 20 7946 0958 ") == "+442079460958"
    for bad in ("", "+", "+abc", "0044 20 7946 0958"):
        with pytest.raises(ValueError, match="international form"):
            e164(bad)
