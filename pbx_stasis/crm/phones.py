"""Phone numbers to E.164 (+ and up to 15 digits) so a caller matches the contact they belong to.

Numbers arrive as people and switches write them: `+1 (415) 555-0100`, `00 33 6 12 34 56 78`,
`0612345678`, `sip:+14155550100@trunk`. A national number only becomes international with the
numbering plan of the place the contact center is in, so the plan is a parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Separators people and phones put inside numbers.
_SEPARATORS = re.compile(r"[\s\-.()/\u00a0]")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: \d would take Arabic-Indic digits too
# E.164 allows at most 15 digits; the shortest numbers in service (small islands) have 7.
E164_MIN_DIGITS = 7
E164_MAX_DIGITS = 15


@dataclass(frozen=True)
class Numbering:
    """A country's numbering plan, as far as turning its national numbers into E.164 goes."""

    country_code: str  # "1", "44", "33"
    trunk_prefix: str  # dialled before a national number: "1" (NANP), "0" (most of Europe)
    international_prefix: str  # dialled before a country code: "011" (NANP), "00"
    national_lengths: tuple[int, ...]  # digits of a national number without the trunk prefix


NUMBERINGS: dict[str, Numbering] = {
    "US": Numbering("1", "1", "011", (10,)),
    "CA": Numbering("1", "1", "011", (10,)),
    "GB": Numbering("44", "0", "00", (9, 10)),
    "FR": Numbering("33", "0", "00", (9,)),
    "DE": Numbering("49", "0", "00", tuple(range(6, 12))),
    "ES": Numbering("34", "", "00", (9,)),
    "IT": Numbering("39", "", "00", tuple(range(6, 12))),
    "NL": Numbering("31", "0", "00", (9,)),
    "BE": Numbering("32", "0", "00", (8, 9)),
    "CH": Numbering("41", "0", "00", (9,)),
    "AU": Numbering("61", "0", "0011", (9,)),
}
DEFAULT_REGION = "US"


def numbering(region: str) -> Numbering:
    """The plan of a region code (ISO 3166 alpha-2, e.g. `FR`); KeyError names the known ones."""
    try:
        return NUMBERINGS[region.upper()]
    except KeyError:
        known = ", ".join(sorted(NUMBERINGS))
        raise KeyError(f"unknown numbering region {region!r} (known: {known})") from None


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


def _international(digits: str) -> str | None:
    if not E164_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS or digits.startswith("0"):
        return None
    return "+" + digits


def to_e164(raw: str, plan: Numbering) -> str | None:
    """The E.164 form of `raw`, or None when it is not a phone number (an extension, a name)."""
    text = _bare(raw)
    if not text:
        return None
    if text.startswith("+"):
        rest = text[1:]
        return _international(rest) if _DIGITS.fullmatch(rest) else None
    if not _DIGITS.fullmatch(text):
        return None
    if plan.international_prefix and text.startswith(plan.international_prefix):
        return _international(text[len(plan.international_prefix) :])
    if plan.trunk_prefix and text.startswith(plan.trunk_prefix):
        national = text[len(plan.trunk_prefix) :]
        if len(national) in plan.national_lengths:
            return _international(plan.country_code + national)
    if len(text) in plan.national_lengths and not text.startswith("0"):
        return _international(plan.country_code + text)
    return None


def written_forms(e164: str, plan: Numbering) -> set[str]:
    """The ways a switch may have written this number in a call record (to find past calls).

    Call records keep numbers as they came from the trunk, so a lookup by contact compares
    against every form that normalises back to `e164`.
    """
    digits = e164.removeprefix("+")
    forms = {e164, digits}
    if plan.international_prefix:
        forms.add(plan.international_prefix + digits)
    if digits.startswith(plan.country_code):
        national = digits[len(plan.country_code) :]
        if len(national) in plan.national_lengths:
            forms.add(national)
            if plan.trunk_prefix:
                forms.add(plan.trunk_prefix + national)
    return {form for form in forms if to_e164(form, plan) == e164}
