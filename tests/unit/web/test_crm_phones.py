"""Phone numbers to E.164, and back to the forms a switch may have written them in."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.crm.phones import NUMBERINGS, numbering, to_e164, written_forms

US = numbering("US")
FR = numbering("FR")
GB = numbering("GB")


@pytest.mark.parametrize(
    ("raw", "plan", "expected"),
    [
        ("+1 (415) 555-0100", US, "+14155550100"),
        ("415.555.0100", US, "+14155550100"),
        ("1 415 555 0100", US, "+14155550100"),
        ("011 33 6 12 34 56 78", US, "+33612345678"),
        ("sip:+14155550100@trunk.example;user=phone", US, "+14155550100"),
        ("tel:+44-20-7946-0958", US, "+442079460958"),
        ("06 12 34 56 78", FR, "+33612345678"),
        ("00 1 415 555 0100", FR, "+14155550100"),
        ("020 7946 0958", GB, "+442079460958"),
        ("1001", US, None),  # an extension
        ("+0123456789", US, None),  # no country code starts with 0
        ("+1234567890123456", US, None),  # 16 digits: longer than E.164 allows
        ("call me", US, None),
        ("", US, None),
        ("+", US, None),
        ("anonymous", US, None),
    ],
)
def test_to_e164(raw: str, plan: object, expected: str | None) -> None:
    assert to_e164(raw, plan) == expected  # type: ignore[arg-type]


def test_unknown_region_is_refused_with_a_hint() -> None:
    # Every region phonenumbers knows is a plan (245 of them): the message gives the form of a
    # region code instead of listing them all.
    with pytest.raises(KeyError, match=r"region 'XX' \(a two-letter country code"):
        numbering("XX")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Regions the 11-country table did not know: their trunk and international prefixes.
        ("03-1234-5678", "JP", "+81312345678"),
        ("010 81 3 1234 5678", "US", None),  # 010 is Japan's international prefix, not the US's
        ("010 1 415 555 0100", "JP", "+14155550100"),
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("098765 43210", "IN", "+919876543210"),
        ("+64 21 123 4567", "FR", "+64211234567"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps the leading 0 in E.164
        ("jp", "US", None),
    ],
)
def test_every_region_phonenumbers_knows(raw: str, region: str, expected: str | None) -> None:
    assert to_e164(raw, numbering(region)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "555 0100",  # a US number without its area code: another person in the next one
        "1-800-FLOWERS",  # vanity letters: a name, not digits
        "\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",  # Arabic-Indic digits
        "+1" + "4" * 100,
    ],
)
def test_not_a_complete_number(raw: str) -> None:
    assert to_e164(raw, US) is None


def test_written_forms_of_a_national_number() -> None:
    assert written_forms("+33612345678", FR) == {
        "+33612345678", "33612345678", "0033612345678", "0612345678", "612345678",
    }
    assert written_forms("+33612345678", US) == {"+33612345678", "01133612345678"}


@given(
    region=st.sampled_from(sorted(NUMBERINGS)),
    digits=st.text(alphabet="0123456789", min_size=6, max_size=11),
)
def test_every_written_form_normalises_back(region: str, digits: str) -> None:
    plan = NUMBERINGS[region]
    e164 = to_e164("+" + plan.country_code + digits.lstrip("0"), plan)
    if e164 is None:
        return
    forms = written_forms(e164, plan)
    assert e164 in forms
    assert all(to_e164(form, plan) == e164 for form in forms)


@given(raw=st.text(max_size=40))
def test_anything_normalises_to_e164_or_none(raw: str) -> None:
    result = to_e164(raw, US)
    assert result is None or re.fullmatch(r"\+[1-9][0-9]{6,14}", result)
