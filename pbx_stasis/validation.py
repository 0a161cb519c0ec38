"""Entity schemas as pydantic models: one declaration checks a payload wherever it comes from
(the API, the CLI, a database row), names each bad field in the API's words and yields the
JSON Schema of the OpenAPI document.

A feature declares its entity once (e.g. acd/settings.py for a queue, crm/contacts.py for a
contact) with the types here; the kernel's HTTP routes take it as a body through `ModelBody`,
as a query string through `ModelQuery`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final, TypeVar, cast

from annotated_types import BaseMetadata
from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, InitErrorDetails, core_schema

Errors = dict[str, str]

# Bounds every field of a kind gets unless it declares tighter ones, so that no value a schema
# lets through can overflow what stores or computes it (each overflow was a 500):
# - whole numbers: the database's integer columns (ids, counts) are 32-bit on PostgreSQL;
DB_INT_MIN: Final = -(2**31)
DB_INT_MAX: Final = 2**31 - 1
# - custom-field numbers: what a JSON reader (JavaScript) holds exactly, and SQLite's JSON too;
SAFE_NUMBER: Final = 2**53 - 1
# - days: reports and filters add a day and convert to datetimes (date.max + 1 day overflows).
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2999, 12, 31)

# What a failed pattern means, for a person: the anchored pattern -> the hint (see `text`).
_HINTS: dict[str, str] = {}
# One line, no NUL: what a one-line text field lets through.
ONE_LINE = r"[^\r\n\x00]*"
# Any number of lines, no NUL (a flow's YAML, a call's notes).
LINES = r"[^\x00]*"


class Model(BaseModel):
    """The base of every entity schema: unknown fields are refused (a typo must not pass
    silently), strings are stripped, and patterns are Python's (lookaheads such as a queue
    name's `(?!stats$)`)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, regex_engine="python-re", frozen=True
    )


@dataclass(frozen=True)
class _NotBlank:
    """In the JSON Schema, a stripped string that must not be empty: blanks alone are empty."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("allOf", []).append({"pattern": r"\S"})
        return schema


@dataclass(frozen=True)
class _Text(StringConstraints):
    """StringConstraints that also say, in the JSON Schema, that blanks alone are empty."""

    not_blank: bool = False

    def __iter__(self) -> Iterator[BaseMetadata]:
        yield from super().__iter__()
        if self.not_blank:
            yield _NotBlank()  # type: ignore[misc]  # a pydantic annotation, not a constraint


def text(
    *,
    min_length: int = 1,
    max_length: int = 200,
    pattern: str = ONE_LINE,
    hint: str = "",
    strip: bool = True,
) -> StringConstraints:
    """The constraints of a one-line string, for `Annotated[str, text(...)]`; `hint` is the
    message when `pattern` (matched whole) fails; `strip`: blanks around are dropped first (not
    for a text of several lines, nor a name used as a key)."""
    anchored = f"^(?:{pattern})$"
    _HINTS[anchored] = hint or {
        ONE_LINE: "must be on one line, without NUL characters",
        LINES: "must not contain NUL characters",
    }.get(pattern, f"must match {pattern}")
    return _Text(
        strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=anchored,
        not_blank=strip and min_length > 0,
    )


def _whole(value: Any) -> Any:
    # 3.0 is a whole number, in JSON Schema too.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A finite number (whole numbers accepted, never true/false or text), e.g. seconds; bounds go
# with the field: `Annotated[Number, Field(ge=1, le=600)]`.
Number = Annotated[float, Strict(), AllowInfNan(False)]
# A whole number, never true/false or text: `Annotated[Whole, Field(ge=0, le=100), WHOLE]`
# (WHOLE after the bounds, so that they stay in the JSON Schema: 3.0 is read as 3 first).
Whole = Annotated[int, Strict()]
WHOLE = BeforeValidator(_whole)
# A whole number in the database's integer range (an id, a count), in a body.
Count = Annotated[Whole, Field(ge=DB_INT_MIN, le=DB_INT_MAX), WHOLE]
# A boolean in a body: true or false, never 1 or "yes" (a query string's `bool` takes those).
Flag = Annotated[bool, Strict()]



def _query_whole(value: Any) -> Any:
    # A query string's whole number as int(text, 10) reads it ("+5", " 5 "), never "5.0".
    if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?[0-9][0-9_]*\s*", value):
        raise ValueError("must be a whole number")
    return value


def _query_flag(value: Any) -> Any:
    # true/false, 1/0, yes/no in any case; not pydantic's other spellings (on, t, y...).
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError("must be true or false")
    return value


# In a query string, where every value is text: a whole number (`Annotated[int, Field(ge=1,
# le=100), QUERY_WHOLE]`: after the bounds, so that they stay in the JSON Schema) and a boolean.
QUERY_WHOLE = BeforeValidator(_query_whole)
QueryFlag = Annotated[bool, BeforeValidator(_query_flag)]

T = TypeVar("T")


def refusal(field: str | tuple[str | int, ...], value: Any, message: str) -> ValidationError:
    """A field's error raised from a model's own validator (a rule across fields, or one that
    runs only once every field has its type), named like the others: `raise refusal(...)`;
    `field` a path within the model (("choices", 2, "label")) names the very item at fault."""
    loc = field if isinstance(field, tuple) else (field,)
    return ValidationError.from_exception_data("refusal", [InitErrorDetails(
        type="value_error", loc=loc, input=value, ctx={"error": ValueError(message)},
    )])


def _unique(items: Sequence[T]) -> Sequence[T]:
    seen: list[T] = []
    duplicates: list[InitErrorDetails] = []
    for index, item in enumerate(items):
        if item in seen:
            duplicates.append(InitErrorDetails(
                type="value_error", loc=(index,), input=item,
                ctx={"error": ValueError("is a duplicate")},
            ))
        seen.append(item)
    if duplicates:  # each duplicate under its own index ("tags.1"), as the API names it
        raise ValidationError.from_exception_data("unique", duplicates)
    return items


@dataclass(frozen=True)
class _Unique:
    """A list whose items must differ, in the validator and in the JSON Schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_unique, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "uniqueItems": True}


# A list whose items must differ: `Annotated[list[X], Field(max_length=30), UNIQUE]`.
UNIQUE = _Unique()


def _day(value: Any) -> date:
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    else:
        raise ValueError("must be a date written YYYY-MM-DD")
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"must be a date from {EARLIEST_DAY} to {LATEST_DAY}")
    return day


# A calendar date written YYYY-MM-DD, from EARLIEST_DAY to LATEST_DAY. The pattern says the
# years, `format` which days exist.
Day = Annotated[date, PlainValidator(_day), WithJsonSchema({
    "type": "string", "format": "date",
    "pattern": r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
})]


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        if abs(value) > SAFE_NUMBER:
            raise ValueError(f"must be between -{SAFE_NUMBER} and {SAFE_NUMBER}")
        return value
    if isinstance(value, str):
        if len(value) > 1000:
            raise ValueError("must be at most 1000 characters")
        return value.strip()
    raise ValueError("must be text, a number or true/false")


@dataclass(frozen=True)
class _KeysMatch:
    """In the JSON Schema, a mapping's keys must match its key pattern (pydantic writes
    `patternProperties`, which lets other keys through, where the validator refuses them)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = dict(handler(core_schema))
        patterns = schema.pop("patternProperties", {})
        if len(patterns) == 1:
            (pattern, value), = patterns.items()
            schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
            schema["additionalProperties"] = value
        return schema


# On a mapping whose keys are a `text(pattern=...)`: `Annotated[dict[Key, V], KEYS_MATCH]`.
KEYS_MATCH = _KeysMatch()


# A custom-field value: text (up to 1000 characters), a number (up to +-SAFE_NUMBER) or a
# boolean.
Scalar = Annotated[str | int | float | bool, PlainValidator(_scalar), WithJsonSchema({
    "type": ["string", "number", "boolean"], "maxLength": 1000,
    "minimum": -SAFE_NUMBER, "maximum": SAFE_NUMBER,
})]


def _bound(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _quoted(expected: str) -> str:
    # pydantic writes "'a', 'b' or 'c'"; the API writes "a, b, c".
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind in ("missing", "missing_argument"):
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if error.get("input", ...) is None:  # a nullable field takes None without an error
        return "must not be null"
    messages = {
        "greater_than_equal": lambda: f"must be at least {_bound(ctx['ge'])}",
        "less_than_equal": lambda: f"must be at most {_bound(ctx['le'])}",
        "greater_than": lambda: f"must be more than {_bound(ctx['gt'])}",
        "less_than": lambda: f"must be less than {_bound(ctx['lt'])}",
        "string_too_short": lambda: (
            "must not be empty" if ctx["min_length"] == 1
            else f"must be at least {ctx['min_length']} characters"
        ),
        "string_too_long": lambda: f"must be at most {ctx['max_length']} characters",
        "string_pattern_mismatch": lambda: _HINTS.get(
            str(ctx["pattern"]), f"must match {ctx['pattern']}"
        ),
        "enum": lambda: "must be one of " + _quoted(str(ctx["expected"])),
        "literal_error": lambda: "must be one of " + _quoted(str(ctx["expected"])),
        "too_long": lambda: f"must have at most {ctx['max_length']} " + (
            "entries" if ctx.get("field_type") == "Dictionary" else "items"
        ),
        "value_error": lambda: str(ctx["error"]),
    }
    if kind in messages:
        return messages[kind]()
    families = {
        ("int_type", "int_from_float", "int_parsing", "int_parsing_size"):
            "must be a whole number",
        ("float_type", "float_parsing", "finite_number"): "must be a number",
        ("bool_type", "bool_parsing"): "must be true or false",
        ("string_type",): "must be a string",
        ("list_type", "tuple_type"): "must be a list",
        ("model_type", "dict_type", "model_attributes_type"): "must be a JSON object",
    }
    for kinds, message in families.items():
        if kind in kinds:
            return message
    return str(error["msg"])


def field_errors(exc: ValidationError, *, root: str = "body") -> Errors:
    """Field path ("escalation.0.after") -> one message in the API's words, per bad field."""
    errors: Errors = {}
    for error in exc.errors():
        loc = error["loc"]
        message = _message(error)
        if loc and loc[-1] == "[key]":  # a mapping's key: "skills.bad name"
            loc, message = loc[:-1], f"is not a valid name: {message}"
        errors.setdefault(".".join(str(part) for part in loc) or root, message)
    return errors


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` written in place: the OpenAPI document embeds it
    in an operation, where `#/$defs/...` would point nowhere."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**resolve(definitions[ref.removeprefix("#/$defs/")]), **rest}
            return {key: resolve(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved = resolve(schema)
    assert isinstance(resolved, dict)
    return resolved


@dataclass(frozen=True)
class _LeftOut:
    def __repr__(self) -> str:
        return "LEFT_OUT"


_LEFT_OUT = _LeftOut()


def left_out(*, alias: str | None = None, description: str | None = None) -> Any:
    """The default of a field that a `ModelBody(model, defaults=True)` leaves out of the clean
    body when the request does ("not given" and "given as null" stay different: null may mean
    "no limit"): `display_name: DisplayName = left_out()`; null is refused unless the type
    says `| None`."""
    info = cast(FieldInfo, Field(
        None, alias=alias, description=description, json_schema_extra=_no_default
    ))
    info.metadata.append(_LEFT_OUT)
    return info


def _no_default(schema: dict[str, Any]) -> None:
    # Left out is not null: the document must not offer null as the field's value.
    schema.pop("default", None)


class ModelBody:
    """A route's JSON body checked by an entity's model (what routing calls `validate` and the
    OpenAPI document `schema` on).

    The clean body is plain JSON (enums as their values), so a handler hands it to the
    feature's own loader, which the CLI and the database use too. It holds the fields the
    request gave; with `defaults`, also the defaults of the others (but the `left_out()` ones).
    """

    mode = "json"  # how the clean values are written: plain JSON (see `dates`)

    def __init__(
        self, model: type[BaseModel], *, defaults: bool = False, dates: bool = False
    ) -> None:
        self.model = model
        self.defaults = defaults
        if dates:  # the handler gets a Day as a date, not as its text
            self.mode = "python"

    @property
    def fields(self) -> Mapping[str, Any]:
        """The body's field names as the API writes them (and pydantic's description of each)."""
        return {info.alias or name: info for name, info in self.model.model_fields.items()}

    def validate(self, value: Any) -> tuple[dict[str, Any], Errors]:
        if not isinstance(value, Mapping):
            return {}, {"body": "must be a JSON object"}
        try:
            checked = self.model.model_validate(value)
        except ValidationError as exc:
            return {}, field_errors(exc)
        return self._clean(checked), {}

    def _clean(self, checked: BaseModel) -> dict[str, Any]:
        if not self.defaults:
            return checked.model_dump(mode="json", exclude_unset=True, by_alias=True)
        left_out = {
            name for name, info in self.model.model_fields.items()
            if name not in checked.model_fields_set and _LEFT_OUT in info.metadata
        }
        return checked.model_dump(mode=self.mode, exclude=left_out, by_alias=True)

    def schema(self) -> dict[str, Any]:
        return inline_schema(self.model)


class ModelQuery(ModelBody):
    """A route's query string checked by a model: each value arrives as text, so the model's
    fields are lax (`int`, `bool`: "25", "true"), and the clean values are Python's (a Day is a
    date). Fields left out take their defaults (but those that are `left_out()`)."""

    mode = "python"

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__(model, defaults=True)

    def parameters(self) -> list[dict[str, Any]]:
        """The query parameters of the OpenAPI document, one per field."""
        schema = self.schema()
        required = set(schema.get("required", ()))
        return [
            {"name": name, "in": "query", "required": name in required, "schema": spec}
            for name, spec in schema["properties"].items()
        ]
