"""Which outside numbers a tenant may dial, and who may start such calls: pure, no IO.

A number is read with the numbering plan of the contact center's home region (`home`), then
judged in this order:

1. an emergency number of the home region (911, 112...) is always dialled, whoever asks;
2. the caller's role must be one the tenant lets place outside calls (None: no person, e.g. an
   IVR transfer node, which an admin wrote);
3. the longest matching prefix of the tenant's `allow` and `block` lists decides, if any:
   a blocked prefix refuses, an allowed one lets through any number of a possible length;
4. otherwise the number must be valid, of a kind billed like an ordinary call (fixed line,
   mobile, toll-free) and in one of the tenant's `countries`.

Everything else is refused: premium-rate, shared-cost, personal, UAN, VoIP, pager and voicemail
numbers, numbers of unknown kind, invalid numbers and other countries. What is dialled is the
E.164 form that was judged (`Verdict.number`), so the carrier cannot read the digits differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo
from pydantic import Field, ValidationError

from pbx_stasis.store.tables import Role
from pbx_stasis.validation import UNIQUE, Model, field_errors, text

# Kinds billed like an ordinary call: the only ones dialled without an allowed prefix.
ORDINARY = frozenset({"fixed-line", "mobile", "fixed-line-or-mobile", "toll-free"})
_KINDS = {
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal-number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
DEFAULT_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})  # the roles that have phones
PREFIX = re.compile(r"\+[1-9][0-9]{0,14}")
# What an emergency number is dialled as: ASCII digits only (phonenumbers would also read
# other scripts' digits, which the trunk would be sent as they are).
SHORT_CODE = re.compile(r"[0-9]{2,8}")
MAX_ENTRIES = 500  # per list: a policy is read on every outside call
# Longer input is no phone number; phonenumbers itself stops at 250 characters.
MAX_NUMBER_LENGTH = 64


class PolicyInvalid(ValueError):
    """Field -> message for every bad part of a policy."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Dialer:
    """Who asks for an outside call: a user (an agent or supervisor with a phone)."""

    user_id: int
    username: str
    role: Role


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says about one number.

    `number`: what to dial (E.164, or the emergency number as dialled), None when the input is
    not a phone number at all. `reason`: why, a short code (allowed: `ordinary`,
    `allowed-prefix`, `emergency`; refused: `role`, `invalid`, `blocked-prefix`, `country`, or
    the number's kind such as `premium-rate`). `message`: the same for a person.
    """

    allowed: bool
    reason: str
    message: str
    number: str | None = None
    kind: str | None = None
    country: str | None = None

    def journal(self) -> dict[str, str | None]:
        """The verdict as journal data."""
        return {"dial": self.number, "reason": self.reason, "message": self.message,
                "kind": self.kind, "country": self.country}


@dataclass(frozen=True, slots=True)
class DialPolicy:
    """A tenant's dialling policy. `countries`: ISO 3166 codes whose ordinary numbers may be
    dialled; `allow`/`block`: E.164 prefixes (`+1900555`); `roles`: who may place outside
    calls from a phone or click-to-call."""

    countries: frozenset[str]
    allow: frozenset[str] = frozenset()
    block: frozenset[str] = frozenset()
    roles: frozenset[Role] = field(default=DEFAULT_ROLES)

    def __post_init__(self) -> None:
        problems = {}
        unknown = sorted(c for c in self.countries if c not in phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            problems["countries"] = f"unknown country code(s): {', '.join(unknown[:5])}"
        for name, prefixes in (("allow", self.allow), ("block", self.block)):
            bad = sorted(p for p in prefixes if not PREFIX.fullmatch(p))
            if bad:
                problems[name] = (f"{bad[0][:20]!r} is not a prefix: + then 1 to 15 digits, "
                                  "not starting with 0")
            elif len(prefixes) > MAX_ENTRIES:
                problems[name] = f"at most {MAX_ENTRIES} prefixes"
        both = sorted(self.allow & self.block)
        if both and "allow" not in problems and "block" not in problems:
            problems["block"] = f"{both[0]} is in both allow and block"
        if problems:
            raise PolicyInvalid(problems)

    @classmethod
    def default(cls, home: str) -> DialPolicy:
        """A tenant's policy until an admin sets one: ordinary numbers of the home country."""
        return cls(countries=frozenset({home.upper()}))

    def judge(self, number: str, *, home: str, role: Role | None) -> Verdict:
        """Whether `number`, dialled by someone of `role` (None: no person), may be dialled."""
        text = number.strip()
        if len(text) > MAX_NUMBER_LENGTH:
            return _refused("invalid", "is not a phone number (too long)", None)
        if SHORT_CODE.fullmatch(text) and shortnumberinfo.is_emergency_number(text, home):
            return Verdict(True, "emergency", f"{text} is an emergency number", number=text,
                           kind="emergency", country=home)
        if role is not None and role not in self.roles:
            return _refused("role", f"the {role.value} role may not place outside calls", None)
        try:
            parsed = phonenumbers.parse(text, home)
        except phonenumbers.NumberParseException:
            return _refused("invalid", f"{text[:32]!r} is not a phone number", None)
        if not phonenumbers.is_possible_number(parsed):
            return _refused("invalid", f"{text[:32]} is not a possible phone number", None)
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        country = phonenumbers.region_code_for_number(parsed)
        kind = _KINDS.get(phonenumbers.number_type(parsed), "unknown")
        prefix = _longest_prefix(e164, self.allow | self.block)
        if prefix in self.block:
            return _refused("blocked-prefix", f"{e164} is under the blocked prefix {prefix}",
                            e164, kind, country)
        if prefix in self.allow:
            return Verdict(True, "allowed-prefix", f"{e164} is under the allowed prefix {prefix}",
                           e164, kind, country)
        if not phonenumbers.is_valid_number(parsed):
            return _refused("invalid", f"{e164} is not a valid phone number", e164, kind, country)
        if kind not in ORDINARY:
            article = "an" if kind[0] in "aeiou" else "a"
            return _refused(kind, f"{e164} is {article} {kind} number", e164, kind, country)
        if country not in self.countries:
            where = "a global network" if country == "001" else country
            return _refused("country", f"calls to {where} are not allowed ({e164})", e164, kind,
                            country)
        return Verdict(True, "ordinary", f"{e164} is a {kind} number in {country}", e164, kind,
                       country)


def _refused(reason: str, message: str, number: str | None, kind: str | None = None,
             country: str | None = None) -> Verdict:
    return Verdict(False, reason, message, number, kind, country)


def _longest_prefix(e164: str, prefixes: Iterable[str]) -> str | None:
    best: str | None = None
    for prefix in prefixes:
        if e164.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


PREFIX_HINT = "must be a prefix: + then 1 to 15 digits, not starting with 0"
Prefixes = Annotated[
    tuple[Annotated[str, text(min_length=2, max_length=16, pattern=r"\+[1-9][0-9]{0,14}",
                              hint=PREFIX_HINT)], ...],
    Field(max_length=MAX_ENTRIES), UNIQUE,
]
Country = Annotated[str, text(min_length=2, max_length=2, pattern="[A-Za-z]{2}",
                              hint="must be a two-letter country code, e.g. US")]


class DialPolicyFields(Model):
    """A policy as an admin writes it (PUT /api/dialing/policy): absent lists are empty,
    absent roles the default (agents and supervisors); policy_from then judges it whole."""

    countries: Annotated[tuple[Country, ...], Field(max_length=300), UNIQUE]
    allow: Prefixes = ()
    block: Prefixes = ()
    roles: Annotated[tuple[Role, ...], Field(max_length=4), UNIQUE] = (
        Role.AGENT, Role.SUPERVISOR
    )


def checked_policy(given: Mapping[str, Any]) -> DialPolicy:
    """A policy from its fields as written (the API's body, `pbx dialing set`, a table row):
    the schema first (DialPolicyFields), then policy_from's rules; PolicyInvalid names each
    bad field ("countries.1")."""
    try:
        fields = DialPolicyFields.model_validate(given)
    except ValidationError as exc:
        raise PolicyInvalid(field_errors(exc)) from None
    return policy_from(countries=fields.countries, allow=fields.allow, block=fields.block,
                       roles=[role.value for role in fields.roles])


def policy_from(
    *,
    countries: Iterable[str],
    allow: Iterable[str] = (),
    block: Iterable[str] = (),
    roles: Iterable[str] = (Role.AGENT.value, Role.SUPERVISOR.value),
) -> DialPolicy:
    """A policy from plain strings (API bodies, the command line, table rows); PolicyInvalid
    names each bad field."""
    problems: dict[str, str] = {}
    known = {r.value for r in Role}
    role_names = [str(r) for r in roles]
    unknown = sorted(set(role_names) - known)
    if unknown:
        problems["roles"] = f"unknown role(s): {', '.join(unknown[:5])} (roles: " \
                            f"{', '.join(sorted(known))})"
    try:
        policy = DialPolicy(
            countries=frozenset(str(c).strip().upper() for c in countries),
            allow=frozenset(str(p).strip() for p in allow),
            block=frozenset(str(p).strip() for p in block),
            roles=frozenset(Role(r) for r in role_names if r in known),
        )
    except PolicyInvalid as exc:
        raise PolicyInvalid({**exc.problems, **problems}) from None
    if problems:
        raise PolicyInvalid(problems)
    return policy
