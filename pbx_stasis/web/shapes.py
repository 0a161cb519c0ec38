"""Request shapes: one declaration checks a payload field by field and yields its JSON Schema.

A route declares the shape of its body and query; the same declaration validates requests
(collecting one message per bad field, e.g. {"phones.1": "must be a phone number ..."}) and
describes them in the OpenAPI document, so the two never disagree.
"""

from __future__ import annotations

import enum
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

Errors = dict[str, str]

# Bounds every field of a kind gets unless it declares tighter ones, so that no value a shape
# lets through can overflow what stores or computes it (each overflow was a 500):
# - whole numbers: the database's integer columns (ids, counts) are 32-bit on PostgreSQL;
DB_INT_MIN: Final = -(2**31)
DB_INT_MAX: Final = 2**31 - 1
# - custom-field numbers: what a JSON reader (JavaScript) holds exactly, and SQLite's JSON too;
SAFE_NUMBER: Final = 2**53 - 1
# - days: reports and filters add a day and convert to datetimes (date.max + 1 day overflows).
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2999, 12, 31)


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


# The default of an optional field: the key is left out of the clean payload, so "not given"
# and "given as null" stay different (null may mean "no limit").
ABSENT: Final = _Absent()


class Shape(ABC):
    """A kind of value. `check` returns the clean value, or INVALID after recording why."""

    def __init__(self, *, nullable: bool = False, description: str = "") -> None:
        self.nullable = nullable
        self.description = description

    def check(self, value: Any, path: str, errors: Errors, *, text: bool = False) -> Any:
        """`text`: the value comes from a query string, so numbers and flags arrive as text."""
        if value is None:
            if self.nullable:
                return None
            errors[path] = "must not be null"
            return INVALID
        return self._check(value, path, errors, text)

    @abstractmethod
    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any: ...

    @abstractmethod
    def _schema(self) -> dict[str, Any]: ...

    def schema(self) -> dict[str, Any]:
        schema = self._schema()
        if self.nullable:
            kind = schema.get("type")
            if isinstance(kind, str):
                schema["type"] = [kind, "null"]
            else:
                schema = {"anyOf": [schema, {"type": "null"}]}
        if self.description:
            schema["description"] = self.description
        return schema


class Text(Shape):
    """A string, stripped of surrounding blanks; `hint` is the message when `pattern` fails."""

    def __init__(
        self,
        *,
        min_length: int = 0,
        max_length: int = 200,
        pattern: str | None = None,
        hint: str = "",
        multiline: bool = False,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.hint = hint
        self.multiline = multiline

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if not isinstance(value, str):
            errors[path] = "must be a string"
            return INVALID
        clean = value if self.multiline else value.strip()
        if not self.multiline and ("\n" in clean or "\r" in clean):
            errors[path] = "must be on one line"
            return INVALID
        if "\x00" in clean:
            errors[path] = "must not contain NUL characters"
            return INVALID
        if len(clean) < self.min_length:
            errors[path] = (
                "must not be empty"
                if self.min_length == 1
                else f"must be at least {self.min_length} characters"
            )
            return INVALID
        if len(clean) > self.max_length:
            errors[path] = f"must be at most {self.max_length} characters"
            return INVALID
        if self.pattern is not None and clean and not self.pattern.fullmatch(clean):
            errors[path] = self.hint or f"must match {self.pattern.pattern}"
            return INVALID
        return clean

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            schema["minLength"] = self.min_length
            # Blanks around are stripped first, so blanks alone are empty.
            schema["allOf"] = [{"pattern": r"\S"}]
        if self.pattern is not None:
            schema["pattern"] = _anchored(self.pattern.pattern)
        schema["not"] = {"pattern": "\x00" if self.multiline else "[\r\n\x00]"}
        return schema


class Integer(Shape):
    """A whole number, within the database's integer range unless `minimum`/`maximum` say less."""

    def __init__(
        self,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.minimum = DB_INT_MIN if minimum is None else minimum
        self.maximum = DB_INT_MAX if maximum is None else maximum

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if text and isinstance(value, str):
            try:
                value = int(value.strip(), 10)
            except ValueError:
                errors[path] = "must be a whole number"
                return INVALID
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 3.0 is a whole number, in JSON Schema too
        if isinstance(value, bool) or not isinstance(value, int):
            errors[path] = "must be a whole number"
            return INVALID
        return _in_range(value, self.minimum, self.maximum, path, errors)

    def _schema(self) -> dict[str, Any]:
        return _with_range({"type": "integer"}, self.minimum, self.maximum)


class Number(Shape):
    """A finite number (integers accepted), e.g. seconds."""

    def __init__(
        self,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.minimum = minimum
        self.maximum = maximum

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if text and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                errors[path] = "must be a number"
                return INVALID
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            errors[path] = "must be a number"
            return INVALID
        return _in_range(float(value), self.minimum, self.maximum, path, errors)

    def _schema(self) -> dict[str, Any]:
        return _with_range({"type": "number"}, self.minimum, self.maximum)


def _in_range(
    value: float, minimum: float | None, maximum: float | None, path: str, errors: Errors
) -> Any:
    if minimum is not None and value < minimum:
        errors[path] = f"must be at least {_number(minimum)}"
        return INVALID
    if maximum is not None and value > maximum:
        errors[path] = f"must be at most {_number(maximum)}"
        return INVALID
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _with_range(
    schema: dict[str, Any], minimum: float | None, maximum: float | None
) -> dict[str, Any]:
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


class Flag(Shape):
    """A boolean; in a query string `true`/`false`/`1`/`0`."""

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if text and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
        if not isinstance(value, bool):
            errors[path] = "must be true or false"
            return INVALID
        return value

    def _schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Choice(Shape):
    def __init__(
        self, values: Sequence[str], *, nullable: bool = False, description: str = ""
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.values = tuple(values)

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if not isinstance(value, str) or value not in self.values:
            errors[path] = "must be one of " + ", ".join(self.values)
            return INVALID
        return value

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}


class Day(Shape):
    """A calendar date written YYYY-MM-DD, from EARLIEST_DAY to LATEST_DAY."""

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if EARLIEST_DAY <= day <= LATEST_DAY:
                    return day
                errors[path] = f"must be a date from {EARLIEST_DAY} to {LATEST_DAY}"
                return INVALID
        errors[path] = "must be a date written YYYY-MM-DD"
        return INVALID

    def _schema(self) -> dict[str, Any]:
        # The pattern says the years (EARLIEST_DAY to LATEST_DAY); `format` which days exist.
        return {"type": "string", "format": "date",
                "pattern": r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"}


class Scalar(Shape):
    """A custom-field value: text (up to 1000 characters), a number (up to +-SAFE_NUMBER) or a
    boolean."""

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and math.isfinite(value):
            if abs(value) > SAFE_NUMBER:
                errors[path] = f"must be between -{SAFE_NUMBER} and {SAFE_NUMBER}"
                return INVALID
            return value
        if isinstance(value, str):
            if len(value) > 1000:
                errors[path] = "must be at most 1000 characters"
                return INVALID
            return value.strip()
        errors[path] = "must be text, a number or true/false"
        return INVALID

    def _schema(self) -> dict[str, Any]:
        return {"type": ["string", "number", "boolean"], "maxLength": 1000,
                "minimum": -SAFE_NUMBER, "maximum": SAFE_NUMBER}


class Items(Shape):
    """A list of `item`."""

    def __init__(
        self,
        item: Shape,
        *,
        max_items: int = 50,
        unique: bool = False,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.item = item
        self.max_items = max_items
        self.unique = unique

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if not isinstance(value, list):
            errors[path] = "must be a list"
            return INVALID
        if len(value) > self.max_items:
            errors[path] = f"must have at most {self.max_items} items"
            return INVALID
        clean: list[Any] = []
        for index, item in enumerate(value):
            checked = self.item.check(item, f"{path}.{index}", errors)
            if checked is not INVALID and self.unique and checked in clean:
                errors[f"{path}.{index}"] = "is a duplicate"
                checked = INVALID
            clean.append(checked)
        return INVALID if any(item is INVALID for item in clean) else clean

    def _schema(self) -> dict[str, Any]:
        schema = {"type": "array", "items": self.item.schema(), "maxItems": self.max_items}
        if self.unique:
            schema["uniqueItems"] = True
        return schema


class Table(Shape):
    """An object with free keys (a skill name, a custom field name) and values of one shape."""

    def __init__(
        self,
        value: Shape,
        *,
        key_pattern: str = r"[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,63}",
        key_hint: str = "names are 1-64 letters, digits, spaces, . _ -",
        max_keys: int = 50,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.value = value
        self.key_pattern = re.compile(key_pattern)
        self.key_hint = key_hint
        self.max_keys = max_keys

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if not isinstance(value, dict):
            errors[path] = "must be an object"
            return INVALID
        if len(value) > self.max_keys:
            errors[path] = f"must have at most {self.max_keys} entries"
            return INVALID
        clean: dict[str, Any] = {}
        ok = True
        for key, item in value.items():
            if not self.key_pattern.fullmatch(key):
                errors[f"{path}.{key}"] = f"is not a valid name: {self.key_hint}"
                ok = False
                continue
            checked = self.value.check(item, f"{path}.{key}", errors)
            ok = ok and checked is not INVALID
            clean[key] = checked
        return clean if ok else INVALID

    def _schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": _anchored(self.key_pattern.pattern)},
            "additionalProperties": self.value.schema(),
            "maxProperties": self.max_keys,
        }


@dataclass(frozen=True)
class Field:
    shape: Shape
    required: bool = True
    default: Any = ABSENT


class Fields(Shape):
    """An object with named fields; unknown fields are refused (a typo must not pass silently)."""

    def __init__(
        self, fields: Mapping[str, Field | Shape], *, nullable: bool = False, description: str = ""
    ) -> None:
        super().__init__(nullable=nullable, description=description)
        self.fields = {
            name: spec if isinstance(spec, Field) else Field(spec) for name, spec in fields.items()
        }

    def _check(self, value: Any, path: str, errors: Errors, text: bool) -> Any:
        if not isinstance(value, Mapping):
            errors[path or "body"] = "must be a JSON object"
            return INVALID
        clean: dict[str, Any] = {}
        ok = True
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in self.fields:
                errors[f"{prefix}{key}"] = "is not a known field"
                ok = False
        for name, spec in self.fields.items():
            if name not in value:
                if spec.required:
                    errors[f"{prefix}{name}"] = "is required"
                    ok = False
                elif spec.default is not ABSENT:
                    clean[name] = spec.default
                continue
            checked = spec.shape.check(value[name], f"{prefix}{name}", errors, text=text)
            ok = ok and checked is not INVALID
            clean[name] = checked
        return clean if ok else INVALID

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: spec.shape.schema() for name, spec in self.fields.items()},
            "additionalProperties": False,
        }
        for name, spec in self.fields.items():
            if spec.default is not ABSENT and spec.default is not None:
                schema["properties"][name]["default"] = _plain(spec.default)
        required = [name for name, spec in self.fields.items() if spec.required]
        if required:
            schema["required"] = required
        return schema

    def validate(self, value: Any, *, text: bool = False) -> tuple[dict[str, Any], Errors]:
        """The clean fields and the errors (field path -> message); errors empty when valid."""
        errors: Errors = {}
        clean = self.check(value, "", errors, text=text)
        if clean is INVALID or errors:
            return {}, errors or {"body": "is not valid"}
        assert isinstance(clean, dict)
        return clean, {}


def _anchored(pattern: str) -> str:
    """A JSON Schema pattern matches anywhere in the string; the shapes match it whole."""
    return f"^(?:{pattern})$"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value.value if isinstance(value, enum.Enum) else value


def optional(shape: Shape, default: Any = ABSENT) -> Field:
    return Field(shape, required=False, default=default)
