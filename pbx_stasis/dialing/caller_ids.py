"""Which number an outside call shows the called party (its caller ID): pure, no IO.

A tenant owns outbound numbers (`CallerIds`: E.164, a label, one default); a queue may name one
of them; the trunk has a default from the config (`trunk.caller_id`). What a call presents:

- an agent's own outside call (click-to-call or dialled from their phone), `for_own_call`: the
  number chosen for the call (it must be one of the tenant's), else the caller ID of the agent's
  queues when every queue they are logged in to that has one names the same number, else the
  tenant's default, else the trunk's, else none (the carrier decides what to show);
- a caller an agent transfers to an outside number (blind or attended), `for_transfer`: the
  caller ID of the queue the call came through, else the caller's own number passes through
  (as a forwarded call); IVR transfer nodes pass the caller's number through too.

A number the tenant does not own (any more) is never presented: a queue's caller ID removed from
the tenant's numbers is skipped. The called number is never presented as the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, Field, ValidationError

from pbx_stasis.validation import Model, field_errors, text

MAX_NUMBERS = 200  # per tenant: read on every outside call
E164_HINT = "must be a phone number in international form, e.g. +14155550100"


def e164(value: str) -> str:
    """A number as the trunk presents it (E.164); ValueError saying why not for anything that
    is not a valid phone number in international form."""
    cleaned = value.strip()
    if not cleaned.startswith("+"):
        raise ValueError(E164_HINT)
    try:
        parsed = phonenumbers.parse(cleaned, None)
    except phonenumbers.NumberParseException:
        raise ValueError(E164_HINT) from None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{formatted} is not a valid phone number")
    return formatted


# A caller ID as written (API, CLI, a queue's settings): read with phonenumbers, kept as E.164.
CallerIdNumber = Annotated[
    str, text(max_length=32, pattern=r"\+[0-9 ().\-]+", hint=E164_HINT), AfterValidator(e164)
]


class OutboundNumberFields(Model):
    """One of a tenant's outbound numbers as an admin writes it."""

    number: CallerIdNumber
    label: Annotated[str, text(min_length=0, max_length=64)] = ""
    default: Annotated[bool, Field(strict=True)] = False


def _one_default(numbers: tuple[OutboundNumberFields, ...]) -> tuple[OutboundNumberFields, ...]:
    seen: set[str] = set()
    for index, item in enumerate(numbers):
        if item.number in seen:
            raise ValueError(f"{item.number} is listed twice (numbers.{index})")
        seen.add(item.number)
    defaults = [item.number for item in numbers if item.default]
    if len(defaults) > 1:
        raise ValueError(f"only one number can be the default ({', '.join(defaults[:3])})")
    return numbers


class CallerIdsFields(Model):
    """A tenant's outbound numbers (PUT /api/dialing/caller-ids, `pbx dialing numbers`, the
    stored row): each number once, at most one default (none marked: the first is)."""

    numbers: Annotated[
        tuple[OutboundNumberFields, ...], Field(max_length=MAX_NUMBERS),
        AfterValidator(_one_default),
    ]


class CallerIdsInvalid(ValueError):
    """Field -> message for every bad part of a tenant's numbers."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class OutboundNumber:
    """A number the tenant owns and may present: E.164, what people call it, whether it is the
    tenant's default."""

    number: str
    label: str = ""
    default: bool = False


@dataclass(frozen=True, slots=True)
class CallerIds:
    """A tenant's outbound numbers; exactly one is the default when there are any."""

    numbers: tuple[OutboundNumber, ...] = ()

    @property
    def default(self) -> str | None:
        return next((item.number for item in self.numbers if item.default), None)

    def owns(self, number: str | None) -> bool:
        return number is not None and any(item.number == number for item in self.numbers)

    def json(self) -> list[dict[str, Any]]:
        return [{"number": item.number, "label": item.label, "default": item.default}
                for item in self.numbers]


def checked_caller_ids(given: Mapping[str, Any]) -> CallerIds:
    """A tenant's numbers from their fields as written (the API's body, the CLI, a table row):
    CallerIdsInvalid names each bad field ("numbers.1.number"). With no number marked default,
    the first one is."""
    try:
        fields = CallerIdsFields.model_validate(given)
    except ValidationError as exc:
        raise CallerIdsInvalid(field_errors(exc)) from None
    any_default = any(item.default for item in fields.numbers)
    return CallerIds(tuple(
        OutboundNumber(item.number, item.label, item.default or (not any_default and index == 0))
        for index, item in enumerate(fields.numbers)
    ))


class NotOwnedNumber(ValueError):
    """A caller ID chosen for a call that is not one of the tenant's numbers."""

    def __init__(self, number: str) -> None:
        super().__init__(f"{number[:32]} is not one of your numbers")
        self.number = number


@dataclass(frozen=True, slots=True)
class Presented:
    """The caller ID an outside call shows (None: none set, the carrier decides) and why:
    `chosen`, `queue`, `tenant`, `trunk`, `caller` (passed through) or `none`."""

    number: str | None
    source: str

    def journal(self) -> dict[str, str | None]:
        return {"caller_id": self.number, "caller_id_from": self.source}


def for_own_call(
    ids: CallerIds, *, chosen: str | None = None, queue_caller_ids: Iterable[str | None] = (),
    trunk: str | None = None,
) -> Presented:
    """The caller ID of an agent's own outside call. `chosen`: the number picked for this call
    (NotOwnedNumber unless the tenant owns it); `queue_caller_ids`: those of the queues the agent
    is logged in to (one number shared by all that have one wins); `trunk`: the config's."""
    if chosen is not None:
        if not ids.owns(chosen):
            raise NotOwnedNumber(chosen)
        return Presented(chosen, "chosen")
    queued = {number for number in queue_caller_ids if ids.owns(number)}
    if len(queued) == 1:
        return Presented(queued.pop(), "queue")
    if ids.default is not None:
        return Presented(ids.default, "tenant")
    if trunk is not None:
        return Presented(trunk, "trunk")
    return Presented(None, "none")


def for_transfer(ids: CallerIds, *, queue_caller_id: str | None, caller: str) -> Presented:
    """The caller ID of a caller handed over to an outside number: their queue's when the
    tenant owns it, else the caller's own number (as a forwarded call shows it)."""
    if ids.owns(queue_caller_id):
        return Presented(queue_caller_id, "queue")
    return Presented(caller, "caller")


def caller_id_header(number: str | None) -> str | None:
    """ARI originate's callerId for a presented number: the number as both the display name
    and the user of From (a bare number would leave the display name to Asterisk's defaults)."""
    return None if number is None else f'"{number}" <{number}>'
