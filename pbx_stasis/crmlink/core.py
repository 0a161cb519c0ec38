"""The pure rules of the external CRM link: url templates (which placeholders, how values go
in), mapping a CRM's JSON answer onto a contact's fields, what a lookup's outcome tells the
agent, and the lookup cache. No IO; time is given."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from yarl import URL

# What a template may name: the caller's number as E.164 (+14155550123), its digits alone
# (14155550123), our contact's id, and the CRM's own id of the record (from the lookup).
PLACEHOLDERS = ("number", "digits", "contact_id", "external_id")
LOOKUP_PLACEHOLDERS = ("number", "digits")
# Contact fields a mapping may fill besides the tenant's custom fields.
BUILT_IN_TARGETS = ("external_id", "name", "company")
MAX_TEXT = 200  # a mapped value is cut to a contact field's length


def _names(template: str) -> list[str] | None:
    """The placeholders of a template, or None when it is not a valid template."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion or not name:
            return None
        names.append(name)
    return names


def template_problem(template: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> str | None:
    """Why a url template cannot be used, or None: only the allowed {placeholders}, in an
    http(s) url whose host is written out (a placeholder never chooses the host)."""
    names = _names(template)
    if names is None:
        return "is not a template: write placeholders as {number} (braces doubled: {{ }})"
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        return f"names {{{unknown[0]}}}; the placeholders are " + ", ".join(
            f"{{{name}}}" for name in allowed)
    try:
        url = URL(render(template, dict.fromkeys(allowed, "1")))
    except ValueError:
        return "is not a url"
    if url.scheme not in ("http", "https") or not url.host:
        return "must be an http(s) url with a host"
    host_part = template.split("//", 1)[-1].split("/", 1)[0]
    if "{" in host_part:
        return "must name its host without placeholders"
    if url.user is not None or url.password is not None:
        return "must not carry a user or password (the token is sent as a Bearer header)"
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value, percent-encoded (a value
    never adds a path, a query parameter or a host)."""
    return template.format_map({k: quote(str(v), safe="") for k, v in values.items()})


def link_values(number: str | None, contact_id: int | None,
                external_id: str | None) -> dict[str, str] | None:
    """The values an "open in CRM" template is filled with; a template is only rendered
    when every placeholder it names has a value (else: no link)."""
    values: dict[str, str] = {}
    if number:
        values["number"] = number
        values["digits"] = "".join(ch for ch in number if ch.isdigit())
    if contact_id is not None:
        values["contact_id"] = str(contact_id)
    if external_id:
        values["external_id"] = external_id
    return values


def open_link(template: str | None, values: Mapping[str, str]) -> str | None:
    """The "open in CRM" url, or None: no template, or one naming a value not known here."""
    if not template:
        return None
    names = _names(template)
    if names is None or any(name not in values for name in names):
        return None
    return render(template, values)


def pick(payload: Any, path: str) -> Any:
    """The value at a dotted path of a JSON document (`contact.phones.0`), or None."""
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@dataclass(frozen=True)
class ExternalRecord:
    """A CRM's record mapped onto a contact: its id there, name, company, custom fields."""

    external_id: str | None = None
    name: str | None = None
    company: str | None = None
    custom_fields: Mapping[str, str | int | float] = field(default_factory=dict)


def _scalar(value: Any) -> str | int | float | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = " ".join(value.split())[:MAX_TEXT]
        return text or None
    return None  # objects and lists are not a field's value


def mapped(payload: Any, mapping: Mapping[str, str]) -> ExternalRecord:
    """The record a CRM answered, its fields picked by `mapping` (contact field -> path in
    the answer). A value that is missing, empty, an object or a list is left out."""
    values: dict[str, str | int | float] = {}
    for target, path in mapping.items():
        value = _scalar(pick(payload, path))
        if value is not None:
            values[target] = value
    text = {k: str(values.pop(k)) for k in BUILT_IN_TARGETS if k in values}
    return ExternalRecord(external_id=text.get("external_id"), name=text.get("name"),
                          company=text.get("company"), custom_fields=values)


def first_record(payload: Any) -> Any:
    """The record of an answer: the object itself, or the first of a list (an empty list
    or anything else: None, nobody found)."""
    if isinstance(payload, Mapping):
        return payload
    if isinstance(payload, list) and payload and isinstance(payload[0], Mapping):
        return payload[0]
    return None


class Status(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    FAILED = "failed"  # the CRM answered an error, or garbage, or could not be reached
    TIMEOUT = "timeout"
    OFF = "off"  # the tenant has no lookup


@dataclass(frozen=True)
class Lookup:
    """What the screen pop is told: the outcome, the record, and a note for the agent."""

    status: Status
    record: ExternalRecord | None = None
    note: str = ""
    took_ms: int | None = None

    @property
    def lasting(self) -> bool:
        """Whether it is kept in the cache: an answer, not a failure (tried again next call)."""
        return self.status in (Status.FOUND, Status.NOT_FOUND)


def timed_out(timeout_s: float) -> Lookup:
    return Lookup(Status.TIMEOUT, note=f"The CRM did not answer within {timeout_s:g} s; "
                  "the card shows our contact only.")


def failed(why: str) -> Lookup:
    return Lookup(Status.FAILED, note=f"The CRM lookup failed ({why}); "
                  "the card shows our contact only.")


def answered(status: int, payload: Any, mapping: Mapping[str, str], took_ms: int) -> Lookup:
    """The outcome of the CRM's answer: 404 or no record is nobody; 2xx with a record is
    found; anything else failed."""
    if status == 404:
        return Lookup(Status.NOT_FOUND, note="Not in the CRM.", took_ms=took_ms)
    if not 200 <= status < 300:
        return failed(f"the CRM answered {status}")
    record = first_record(payload)
    if record is None:
        if payload is None or isinstance(payload, (list, Mapping)):
            return Lookup(Status.NOT_FOUND, note="Not in the CRM.", took_ms=took_ms)
        return failed("the CRM's answer is not a JSON object")
    return Lookup(Status.FOUND, mapped(record, mapping), took_ms=took_ms)


@dataclass
class LookupCache:
    """The lookups' answers per (tenant, number) for `ttl` seconds; bounded (the oldest put
    goes first)."""

    size: int = 5000
    _entries: dict[tuple[int, str], tuple[float, Lookup]] = field(default_factory=dict)

    def get(self, key: tuple[int, str], now: float) -> Lookup | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: tuple[int, str], lookup: Lookup, now: float, ttl: float) -> None:
        if ttl <= 0 or not lookup.lasting:
            return
        self._entries.pop(key, None)
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (now + ttl, lookup)

    def forget(self, tenant_id: int) -> None:
        """Drop a tenant's answers (its settings changed)."""
        for key in [k for k in self._entries if k[0] == tenant_id]:
            del self._entries[key]
