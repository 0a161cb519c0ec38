"""Entity schemas as pydantic models: one declaration checks a payload wherever it comes from
(the API, the CLI, a database row), names each bad field in the API's words and yields the
JSON Schema of the OpenAPI document.

A feature declares its entity once (e.g. acd/settings.py for a queue) with the types here; the
kernel's HTTP routes take it as a body through `ModelBody`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

Errors = dict[str, str]

# What a failed pattern means, for a person: the anchored pattern -> the hint (see `text`).
_HINTS: dict[str, str] = {}
# One line, no NUL: what the API's Text shape (web/shapes.py) lets through.
ONE_LINE = r"[^\r\n\x00]*"


class Model(BaseModel):
    """The base of every entity schema: unknown fields are refused (a typo must not pass
    silently), strings are stripped, and patterns are Python's (lookaheads such as a queue
    name's `(?!stats$)`)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, regex_engine="python-re", frozen=True
    )


def text(
    *, min_length: int = 1, max_length: int = 200, pattern: str = ONE_LINE, hint: str = ""
) -> StringConstraints:
    """The constraints of a one-line string, for `Annotated[str, text(...)]`; `hint` is the
    message when `pattern` (matched whole) fails."""
    anchored = f"^(?:{pattern})$"
    _HINTS[anchored] = hint or (
        "must be on one line, without NUL characters" if pattern == ONE_LINE
        else f"must match {pattern}"
    )
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=anchored
    )


def _whole(value: Any) -> Any:
    # 3.0 is a whole number, in JSON Schema too (as web/shapes.py's Integer reads it).
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A finite number (whole numbers accepted, never true/false or text), e.g. seconds; bounds go
# with the field: `Annotated[Number, Field(ge=1, le=600)]`.
Number = Annotated[float, Strict(), AllowInfNan(False)]
# A whole number, never true/false or text: `Annotated[Whole, Field(ge=0, le=100), WHOLE]`
# (WHOLE after the bounds, so that they stay in the JSON Schema: 3.0 is read as 3 first).
Whole = Annotated[int, Strict()]
WHOLE = BeforeValidator(_whole)


def _bound(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _quoted(expected: str) -> str:
    # pydantic writes "'a', 'b' or 'c'"; the API writes "a, b, c".
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "missing":
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
        ("int_type", "int_from_float", "int_parsing"): "must be a whole number",
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


class ModelBody:
    """A route's JSON body checked by an entity's model (what routing calls `validate` and the
    OpenAPI document `schema` on, like web/shapes.py's Fields).

    The clean body is the fields the request gave, as plain JSON (enums as their values), so a
    handler hands it to the feature's own loader, which the CLI and the database use too.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    @property
    def fields(self) -> Mapping[str, Any]:
        """The body's field names (and pydantic's description of each)."""
        return self.model.model_fields

    def validate(self, value: Any) -> tuple[dict[str, Any], Errors]:
        if not isinstance(value, Mapping):
            return {}, {"body": "must be a JSON object"}
        try:
            checked = self.model.model_validate(value)
        except ValidationError as exc:
            return {}, field_errors(exc)
        return checked.model_dump(mode="json", exclude_unset=True), {}

    def schema(self) -> dict[str, Any]:
        return inline_schema(self.model)
