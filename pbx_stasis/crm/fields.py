"""Custom fields of a tenant's contacts: an admin's definitions (text, number, date, choice) and
the pure check of a contact's values against them. A name nobody defined stays free text (the
contacts written before any definition keep theirs)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, model_validator

from pbx_stasis.crm.contacts import FieldName
from pbx_stasis.validation import UNIQUE, Model, _day, refusal, text


class FieldKind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"  # written YYYY-MM-DD
    CHOICE = "choice"  # one of the definition's choices


ChoiceName = Annotated[str, text(max_length=100)]


class FieldDefinition(Model):
    """One custom field as an admin defines it."""

    name: FieldName
    kind: FieldKind = FieldKind.TEXT
    choices: Annotated[tuple[ChoiceName, ...], Field(max_length=50), UNIQUE] = ()

    @model_validator(mode="after")
    def _choices_fit_kind(self) -> FieldDefinition:
        if self.kind is FieldKind.CHOICE and not self.choices:
            raise refusal("choices", self.choices, "a choice field needs at least one choice")
        if self.kind is not FieldKind.CHOICE and self.choices:
            raise refusal("choices", self.choices, "only a choice field has choices")
        return self


class FieldDefinitions(Model):
    """PUT /api/contact-fields: the tenant's whole list, in the order the card shows it."""

    fields: Annotated[tuple[FieldDefinition, ...], Field(max_length=50)]

    @model_validator(mode="after")
    def _unique_names(self) -> FieldDefinitions:
        seen: set[str] = set()
        for index, item in enumerate(self.fields):
            if item.name in seen:
                raise refusal(f"fields.{index}.name", item.name, "is a duplicate")
            seen.add(item.name)
        return self


@dataclass(frozen=True)
class FieldSpec:
    """A stored definition, as the contact card and the check read it."""

    name: str
    kind: FieldKind
    choices: tuple[str, ...] = ()


def _problem(spec: FieldSpec, value: Any) -> str | None:
    if spec.kind is FieldKind.TEXT:
        return None if isinstance(value, str) else "must be text"
    if spec.kind is FieldKind.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if spec.kind is FieldKind.DATE:
        try:
            _day(value)
        except ValueError as exc:
            return str(exc)
        return None
    if value not in spec.choices:
        return "must be one of: " + ", ".join(spec.choices)
    return None


def check_values(
    specs: Sequence[FieldSpec], values: Mapping[str, Any]
) -> dict[str, str]:
    """The problems of a contact's custom values ("custom_fields.<name>": message); a null or
    empty value clears a field of any kind."""
    by_name = {spec.name: spec for spec in specs}
    problems: dict[str, str] = {}
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None or value is None or value == "":
            continue
        problem = _problem(spec, value)
        if problem is not None:
            problems[f"custom_fields.{name}"] = problem
    return problems
