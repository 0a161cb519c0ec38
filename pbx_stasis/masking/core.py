"""The pure rules of number masking: how a number is masked, which values of an answer are
numbers, and the walk that masks them in any JSON value or CSV file. No IO.

A masked number keeps what tells a caller apart at a glance (the country, the first digits of
the national number, the last three) and hides the rest: +14155550123 -> "+1 415 •••• 123".
What is masked: a string under a key that names a number (`NUMBER_KEYS`: from_number, phones,
caller...), and any string anywhere that is a whole international number (+ and 7-15 digits),
except the tenant's own numbers (its caller IDs: the agent picks one to call as).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pbx_stasis.crm.phones import MASKED_MARK, mask_number
from pbx_stasis.store.tables import Role
from pbx_stasis.web.csvfile import spreadsheet_cell

# Keys whose string values are phone numbers in the project's answers, feed events, CSV files
# and webhooks.
NUMBER_KEYS = frozenset({
    "from_number", "to_number", "number", "numbers", "phone", "phones", "e164", "callback",
    "caller", "caller_number", "callee", "target_number", "from", "to", "dialled", "dialed",
    "caller_id_number",
})
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ().\-]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def phone_like(text: str) -> bool:
    """A number as a switch or a person writes it (digits, +, spaces, dashes...), not a date."""
    return bool(_PHONE_LIKE.fullmatch(text)) and not _DATE.match(text)


def masked(text: str) -> bool:
    return MASKED_MARK in text


@dataclass(frozen=True)
class MaskRules:
    """A tenant's masking: the roles that see numbers masked, and whether its webhooks carry
    masked numbers too."""

    roles: frozenset[Role] = frozenset()
    webhooks: bool = False

    def masks(self, role: Role) -> bool:
        return role in self.roles


Shape = Callable[[Any], Any]


def masker(own: Collection[str] = ()) -> Shape:
    """The walk masking every number of a JSON value (dicts, lists, strings), leaving the
    tenant's own numbers (`own`, E.164) as they are."""
    keep = frozenset(own)

    def walk(value: Any, numbered: bool) -> Any:
        if isinstance(value, str):
            if value in keep:
                return value
            if (numbered and phone_like(value)) or _E164.fullmatch(value):
                return mask_number(value)
            return value
        if isinstance(value, Mapping):
            return {k: walk(v, numbered or (isinstance(k, str) and k in NUMBER_KEYS))
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(item, numbered) for item in value]
        return value

    return lambda value: walk(value, False)


def mask_csv(text: str, shape: Shape) -> str:
    """A CSV file (header line first) with its numbers masked: whole columns named as a
    number (`NUMBER_KEYS`) and any cell that is an international number."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    header = rows[0]
    numbered = [name.strip().lower() in NUMBER_KEYS for name in header]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows[1:]:
        cells = []
        for index, cell in enumerate(row):
            plain = cell[1:] if cell.startswith("'+") else cell  # csvfile.py's quoted "+..."
            shown = shape({"number": plain})["number"] if (
                index < len(numbered) and numbered[index]) else shape(plain)
            cells.append(cell if shown == plain else spreadsheet_cell(shown))
        writer.writerow(cells)
    return out.getvalue()



def masked_leg_caller_id(caller: str, *, via: str | None = None,
                         callback: str | None = None) -> str:
    """The caller ID (ARI originate's `"name" <number>`) an agent whose role sees numbers
    masked is rung with for a call from `caller` (`callback`: the number they are about to call
    instead): the masked number as the name and `via` (the tenant's own number the caller
    dialled, e.g. a virtual number) as the number, none without it. The INVITE's From, which a
    softphone can read, never carries the whole number."""
    if callback is not None:
        return f'"Callback to {mask_number(callback)}" <>'
    return f'"{mask_number(caller)}" <{via or ""}>'
