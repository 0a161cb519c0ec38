"""The dialling policy, pure: which numbers a tenant may dial, who may dial them.

The numbers come from phonenumbers' own example numbers (one per country and kind), so every
kind of every country is tried against the policy, not only the few written here.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from pbx_stasis.dialing.policy import (
    ORDINARY,
    DialPolicy,
    PolicyInvalid,
    checked_policy,
    policy_from,
)
from pbx_stasis.store.tables import Role

HOME = "US"
DEFAULT = DialPolicy.default(HOME)
COSTLY = (PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UAN,
          PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.VOIP, PhoneNumberType.PAGER,
          PhoneNumberType.VOICEMAIL)
ALL_KINDS = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
             *COSTLY)


def _examples(kinds: tuple[int, ...]) -> list[tuple[str, str]]:
    """(E.164, region) of phonenumbers' example number of each region and kind (the region the
    number belongs to: NANP toll-free examples of Antigua are shared with the US)."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                found.add((phonenumbers.format_number(example, PhoneNumberFormat.E164),
                           phonenumbers.region_code_for_number(example)))
    return sorted(found)


EXAMPLES = _examples(ALL_KINDS)
COSTLY_EXAMPLES = [e164 for e164, _ in _examples(COSTLY)
                   if DEFAULT.judge(e164, home=HOME, role=None).kind not in ORDINARY]
examples = st.sampled_from(EXAMPLES)
roles = st.sampled_from([*Role, None])
prefixes = st.builds(lambda digits: "+" + digits,
                     st.from_regex(r"[1-9][0-9]{0,5}", fullmatch=True))


def test_the_toll_fraud_number_of_the_attack_is_refused_and_an_ordinary_one_allowed() -> None:
    premium = DEFAULT.judge("+19005550123", home=HOME, role=Role.AGENT)
    assert not premium.allowed and premium.reason == "premium-rate"
    assert premium.message == "+19005550123 is a premium-rate number"
    ordinary = DEFAULT.judge("+14155550199", home=HOME, role=Role.AGENT)
    assert ordinary.allowed and ordinary.number == "+14155550199"


def test_every_countrys_costly_numbers_are_refused_by_default() -> None:
    assert len(COSTLY_EXAMPLES) > 300  # premium, shared-cost, UAN... of ~200 countries
    everywhere = DialPolicy(countries=frozenset(phonenumbers.SUPPORTED_REGIONS))
    for e164 in COSTLY_EXAMPLES:
        verdict = everywhere.judge(e164, home=HOME, role=Role.AGENT)
        assert not verdict.allowed, e164
        assert verdict.reason == verdict.kind  # refused for what it is, not where


@given(examples, roles)
def test_by_default_only_ordinary_numbers_of_the_home_country_pass(
    example: tuple[str, str], role: Role | None
) -> None:
    e164, region = example
    verdict = DEFAULT.judge(e164, home=HOME, role=role)
    may_dial = role in (None, Role.AGENT, Role.SUPERVISOR)
    assert verdict.allowed == (may_dial and verdict.kind in ORDINARY and region == HOME)
    if verdict.allowed:
        assert verdict.number == e164  # what is dialled is what was judged


def test_caribbean_numbers_behind_plus_one_are_other_countries() -> None:
    # +1 876 (Jamaica), +1 242 (Bahamas): dialled like US numbers, billed internationally.
    for number in ("+18765550123", "18765550123", "+12423570000"):
        verdict = DEFAULT.judge(number, home=HOME, role=Role.AGENT)
        assert not verdict.allowed and verdict.reason == "country", number


@given(examples)
def test_a_number_written_nationally_gets_the_verdict_of_its_e164_form(
    example: tuple[str, str]
) -> None:
    e164, region = example
    national = phonenumbers.format_number(phonenumbers.parse(e164), PhoneNumberFormat.NATIONAL)
    policy = DialPolicy.default(region)
    assert policy.judge(national, home=region, role=Role.AGENT) == policy.judge(
        e164, home=region, role=Role.AGENT)


@given(examples, prefixes, st.sets(prefixes, max_size=3), roles)
def test_a_blocked_prefix_refuses_what_it_covers_unless_a_longer_allow_does(
    example: tuple[str, str], block: str, allow: set[str], role: Role | None
) -> None:
    e164, _ = example
    block = e164[: len(block)]  # a prefix of this number
    allow.discard(block)
    policy = DialPolicy(countries=frozenset(phonenumbers.SUPPORTED_REGIONS),
                        allow=frozenset(allow), block=frozenset({block}))
    verdict = policy.judge(e164, home=HOME, role=Role.AGENT)
    longer_allow = any(e164.startswith(a) and len(a) > len(block) for a in allow)
    assert verdict.allowed == longer_allow
    if not longer_allow:
        assert verdict.reason == "blocked-prefix"


@given(examples, st.sets(prefixes, max_size=3), st.sets(prefixes, max_size=3),
       st.sets(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), max_size=3), prefixes,
       roles)
def test_more_blocks_never_allow_more_and_more_countries_never_refuse_more(
    example: tuple[str, str], allow: set[str], block: set[str], countries: set[str],
    extra_block: str, role: Role | None
) -> None:
    e164, region = example
    block -= allow
    base = DialPolicy(countries=frozenset(countries), allow=frozenset(allow),
                      block=frozenset(block))
    before = base.judge(e164, home=HOME, role=role).allowed
    if extra_block not in allow:
        blocked = DialPolicy(countries=base.countries, allow=base.allow,
                             block=base.block | {extra_block})
        assert before or not blocked.judge(e164, home=HOME, role=role).allowed
    wider = DialPolicy(countries=base.countries | {region}, allow=base.allow, block=base.block)
    assert not before or wider.judge(e164, home=HOME, role=role).allowed


def test_an_allowed_prefix_lets_a_premium_number_through_and_only_it() -> None:
    policy = policy_from(countries=["US"], allow=["+1900555"])
    assert policy.judge("+19005550123", home=HOME, role=Role.AGENT).reason == "allowed-prefix"
    assert not policy.judge("+19004440123", home=HOME, role=Role.AGENT).allowed


def test_roles_outside_the_policy_may_not_call_out_but_emergency_numbers_always_go() -> None:
    inbound_only = policy_from(countries=["US"], roles=["supervisor"])
    refused = inbound_only.judge("+14155550199", home=HOME, role=Role.AGENT)
    assert not refused.allowed and refused.reason == "role"
    assert inbound_only.judge("+14155550199", home=HOME, role=Role.SUPERVISOR).allowed
    assert inbound_only.judge("+14155550199", home=HOME, role=None).allowed  # an IVR transfer
    for number, home in (("911", "US"), ("112", "FR"), ("999", "GB")):
        verdict = inbound_only.judge(number, home=home, role=Role.AGENT)
        assert verdict.allowed and verdict.reason == "emergency" and verdict.number == number


@given(st.text(max_size=80), roles)
def test_any_text_gets_a_verdict_and_only_real_numbers_pass(text: str, role: Role | None) -> None:
    verdict = DEFAULT.judge(text, home=HOME, role=role)
    if verdict.allowed:
        assert verdict.number is not None
        assert verdict.reason == "emergency" or phonenumbers.is_valid_number(
            phonenumbers.parse(verdict.number))


@pytest.mark.parametrize("number", ["", "s", "*72", "#", "1234", "+", "+0123456789", "٩١١",
                                    "+882123456789", "9" * 40, "x" * 300])
def test_what_is_no_phone_number_is_refused(number: str) -> None:
    verdict = DEFAULT.judge(number, home=HOME, role=Role.AGENT)
    assert not verdict.allowed and verdict.reason in ("invalid", "country")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"countries": ["US", "XX"]}, "countries"),
        ({"countries": ["US"], "allow": ["1900"]}, "allow"),
        ({"countries": ["US"], "block": ["+0900"]}, "block"),
        ({"countries": ["US"], "block": ["+1" + "2" * 15]}, "block"),
        ({"countries": ["US"], "allow": ["+1900"], "block": ["+1900"]}, "block"),
        ({"countries": ["US"], "roles": ["agent", "robot"]}, "roles"),
    ],
)
def test_a_bad_policy_names_its_field(fields: dict[str, list[str]], field: str) -> None:
    with pytest.raises(PolicyInvalid) as raised:
        policy_from(**fields)
    assert field in raised.value.problems


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        # The schema's messages, as the API writes them (PUT /api/dialing/policy)...
        ({"countries": ["US", "USA"]}, {"countries.1": "must be at most 2 characters"}),
        ({"countries": ["US", "US"]}, {"countries.1": "is a duplicate"}),
        ({"countries": ["US"], "roles": ["robot"]},
         {"roles.0": "must be one of agent, supervisor, manager, admin"}),
        ({"countries": "US"}, {"countries": "must be a list"}),
        ({"allow": ["+1900"]}, {"countries": "is required"}),
        # ...then policy_from's rules, once every field has its shape.
        ({"countries": ["US", "XX"]}, {"countries": "unknown country code(s): XX"}),
    ],
)
def test_the_cli_and_the_rows_check_a_policy_with_the_apis_schema(
    fields: dict[str, object], problems: dict[str, str]
) -> None:
    """`pbx dialing set` and a stored row go through checked_policy: the API's schema and
    messages, then the policy's own rules."""
    with pytest.raises(PolicyInvalid) as raised:
        checked_policy(fields)
    assert raised.value.problems == problems


def test_a_checked_policy_is_the_one_policy_from_makes() -> None:
    given = {"countries": ["us", "CA"], "allow": ["+1900555"], "roles": ["agent"]}
    assert checked_policy(given) == policy_from(countries=["US", "CA"], allow=["+1900555"],
                                                roles=["agent"])
