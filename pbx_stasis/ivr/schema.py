"""JSON Schema (draft 2020-12) of IVR flow files, for editors; docs/ivr.schema.json is its output.

Generated from the declaration of every part and field (ivr/fields.py), the very tables the
loader checks field names, required fields and plain values with; nothing here describes a
field by hand. The loader stays the authority (it checks references, regexes, timezones,
prompts per language); the schema gives editors completion, hover help and early marks.
A unit test keeps docs/ivr.schema.json up to date:

    python -m pbx_stasis.ivr.schema > docs/ivr.schema.json
"""

from __future__ import annotations

import json
import sys

from pbx_stasis.ivr.fields import (
    COMMON_NODE_FIELDS,
    FRAGMENTS,
    NODE_KINDS,
    PARTS,
    ROOT,
    Field,
    Flag,
    Part,
    Schema,
    Whole,
    ref,
)


def _plain(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _shape(f: Field) -> Schema:
    """A field's JSON Schema: its fragment, or the one its plain rule draws."""
    rule = f.shape
    if isinstance(rule, dict):
        schema = dict(rule)
    elif isinstance(rule, Flag):
        schema = {"type": "boolean", "default": rule.default}
    elif isinstance(rule, Whole):
        schema = {"type": "integer", "minimum": rule.minimum, "maximum": rule.maximum,
                  "default": rule.default}
    else:
        schema = {"type": "number", "exclusiveMinimum": 0, "maximum": _plain(rule.maximum)}
        if rule.default > 0:  # 0: no default (queue max_wait: absent is the queue's own)
            schema["default"] = _plain(rule.default)
    if f.required:
        # The rule's default only stands in, once the missing field is reported (max_digits).
        schema.pop("default", None)
    if f.description:
        schema["description"] = f.description
    return schema


def _object(part: Part) -> Schema:
    """The JSON Schema of a part: its fields and nothing else."""
    schema: Schema = {"type": "object"}
    if part.description:
        schema["description"] = part.description
    schema["properties"] = {f.name: _shape(f) for f in part.fields}
    if part.required():
        schema["required"] = list(part.required())
    schema["additionalProperties"] = False
    return {**schema, **part.rule}


def build_schema() -> Schema:
    node: Schema = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(NODE_KINDS)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": kind}}}, "then": ref(part.name)}
            for kind, part in NODE_KINDS.items()
        ],
    }
    root = _object(ROOT)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pbx-stasis IVR flows",
        **root,
        "$defs": {
            **{part.name: _object(part) for part in PARTS},
            "node": node,
            **FRAGMENTS,
        },
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def node_fields_in_schema() -> dict[str, set[str]]:
    """Fields the schema allows per node kind (to compare with the loader's)."""
    defs = build_schema()["$defs"]
    return {
        kind: set(defs[part.name]["properties"]) - set(COMMON_NODE_FIELDS)
        for kind, part in NODE_KINDS.items()
    }


if __name__ == "__main__":
    sys.stdout.write(schema_text())
