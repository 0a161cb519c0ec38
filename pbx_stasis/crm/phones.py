"""Phone numbers to E.164 (+ and up to 15 digits) so a caller matches the contact they belong to.

Numbers arrive as people and switches write them: `+1 (415) 555-0100`, `00 33 6 12 34 56 78`,
`0612345678`, `sip:+14155550100@trunk`. A national number only becomes international with the
numbering plan of the place the contact center is in, so the plan is a parameter. The plans are
Google's libphonenumber metadata (the `phonenumbers` package, as the dialling policy reads
numbers): every region it knows works.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, ValidationResult

# Separators people and phones put inside numbers.
_SEPARATORS = re.compile(r"[\s\-.()/\u00a0]")
# ASCII only: phonenumbers would also read other scripts' digits and vanity letters
# (1-800-FLOWERS), and a name or an extension must stay "not a number".
_DIGITS = re.compile(r"\+?[0-9]+")
# E.164 allows at most 15 digits; the shortest numbers in service (small islands) have 7.
E164_MIN_DIGITS = 7
E164_MAX_DIGITS = 15
# Longer input is no phone number (phonenumbers itself stops at 250 characters).
MAX_INPUT_LENGTH = 64
DEFAULT_REGION = "US"


@dataclass(frozen=True)
class Numbering:
    """A region's numbering plan, as far as turning its national numbers into E.164 goes."""

    region: str  # ISO 3166 alpha-2, as phonenumbers spells it: "US", "FR"
    country_code: str  # "1", "44", "33"
    trunk_prefix: str  # dialled before a national number: "1" (NANP), "0" (most of Europe)
    international_prefix: str  # dialled before a country code: "011" (NANP), "00"


@cache
def _plan(region: str) -> Numbering:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None  # every SUPPORTED_REGIONS entry has metadata
    # Some regions' international prefix is a pattern ("00|011"); the preferred one is what
    # people write, and a plain-digit prefix is its own preferred one.
    international = metadata.preferred_international_prefix or metadata.international_prefix or ""
    return Numbering(
        region=region,
        country_code=str(phonenumbers.country_code_for_region(region)),
        trunk_prefix=metadata.national_prefix or "",
        international_prefix=international if international.isdigit() else "",
    )


class _Plans(Mapping[str, Numbering]):
    """Every region phonenumbers knows -> its plan, read when first asked for (reading all 245
    regions' metadata up front costs a tenth of a second at import)."""

    def __getitem__(self, region: str) -> Numbering:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise KeyError(region)
        return _plan(region)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(phonenumbers.SUPPORTED_REGIONS))

    def __len__(self) -> int:
        return len(phonenumbers.SUPPORTED_REGIONS)


NUMBERINGS: Mapping[str, Numbering] = _Plans()


def numbering(region: str) -> Numbering:
    """The plan of a region code (ISO 3166 alpha-2, e.g. `FR`); KeyError for an unknown one."""
    try:
        return NUMBERINGS[region.upper()]
    except KeyError:
        raise KeyError(
            f"unknown numbering region {region[:8]!r} (a two-letter country code, e.g. US or FR)"
        ) from None


def _bare(raw: str) -> str:
    text = raw.strip()
    lowered = text.lower()
    for scheme in ("sip:", "sips:", "tel:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    # sip:+14155550100@host;user=phone and tel:+1...;ext=12: only the user part is the number.
    text = text.split("@", 1)[0].split(";", 1)[0]
    return _SEPARATORS.sub("", text)


def to_e164(raw: str, plan: Numbering) -> str | None:
    """The E.164 form of `raw`, or None when it is not a phone number (an extension, a name)."""
    text = _bare(raw[: MAX_INPUT_LENGTH * 2])
    if not text or len(text) > MAX_INPUT_LENGTH or not _DIGITS.fullmatch(text):
        return None
    try:
        parsed = phonenumbers.parse(text, plan.region)
    except phonenumbers.NumberParseException:
        return None
    # A complete number of a possible length; IS_POSSIBLE_LOCAL_ONLY (no area code) is not
    # one: the same seven digits are another person in the next area code.
    if phonenumbers.is_possible_number_with_reason(parsed) != ValidationResult.IS_POSSIBLE:
        return None
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if not E164_MIN_DIGITS <= len(e164) - 1 <= E164_MAX_DIGITS:
        return None
    return e164


def written_forms(e164: str, plan: Numbering) -> set[str]:
    """The ways a switch may have written this number in a call record (to find past calls).

    Call records keep numbers as they came from the trunk, so a lookup by contact compares
    against every form that normalises back to `e164`.
    """
    digits = e164.removeprefix("+")
    forms = {e164, digits}
    if plan.international_prefix:
        forms.add(plan.international_prefix + digits)
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and str(parsed.country_code) == plan.country_code:
        # The national forms, with and without the trunk prefix (0612345678, 612345678).
        national = phonenumbers.national_significant_number(parsed)
        forms.add(national)
        written = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
        forms.add(_SEPARATORS.sub("", written))
        if plan.trunk_prefix:
            forms.add(plan.trunk_prefix + national)
    return {form for form in forms if to_e164(form, plan) == e164}


# Masking (pbx_stasis/masking): a number shown to a role that must not see it whole.
BULLET = "\u2022"
MASKED_MARK = BULLET  # a value holding it is a masked number (never taken back as a number)
_ANY_DIGIT = re.compile(r"[0-9]")
MIN_MASKED_DIGITS = 7  # shorter: an extension or a short code, not a person's number
KEEP_END = 3


def mask_number(text: str) -> str:
    """`text` masked when it is a phone number of MIN_MASKED_DIGITS digits or more, else as
    it is: +14155550123 -> "+1 415 •••• 123" (the country, the first digits, the last three)."""
    digits = "".join(_ANY_DIGIT.findall(text))
    if len(digits) < MIN_MASKED_DIGITS or MASKED_MARK in text:
        return text
    country = ""
    national = digits
    if text.lstrip().startswith("+"):
        try:
            parsed = phonenumbers.parse(text, None)
            country = str(parsed.country_code)
        except phonenumbers.NumberParseException:
            country = digits[:1]
        national = digits[len(country):]
    head = national[:3] if len(national) >= KEEP_END + 6 else national[:2]
    tail = national[-KEEP_END:]
    hidden = BULLET * max(len(national) - len(head) - len(tail), 3)
    prefix = f"+{country} " if country else ""
    return f"{prefix}{head} {hidden} {tail}"
