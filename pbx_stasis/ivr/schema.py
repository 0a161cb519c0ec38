"""JSON Schema (draft 2020-12) of IVR flow files, for editors; docs/ivr.schema.json is its output.

The loader stays the authority (it checks references, regexes, timezones, prompts per language);
the schema gives editors completion, hover help and early marks. The plain fields' types, bounds
and defaults come from the table the loader reads them with (loader.SCALARS); a unit test keeps
the other fields equal to the loader's and docs/ivr.schema.json up to date:

    python -m pbx_stasis.ivr.schema > docs/ivr.schema.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pbx_stasis.ivr.loader import (
    COMMON_NODE_FIELDS,
    HANGUP_CAUSES,
    NODE_FIELDS,
    SCALARS,
    Flag,
    Whole,
)
from pbx_stasis.ivr.model import WEEKDAYS

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _d(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description}


NODE_NAME: Schema = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"}
VARIABLE: Schema = {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}
TEMPLATE: Schema = {"type": "string", "minLength": 1}
LEVEL: Schema = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "\\$\\{[a-z_][a-z0-9_]*\\}"},
    ]
}
DAYS = "|".join(WEEKDAYS)


def _plain(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _scalar(owner: str, field: str) -> Schema:
    """The JSON Schema of a plain field, from the rule the loader reads it with (SCALARS)."""
    rule = SCALARS[(owner, field)]
    if isinstance(rule, Flag):
        return {"type": "boolean", "default": rule.default}
    if isinstance(rule, Whole):
        return {"type": "integer", "minimum": rule.minimum, "maximum": rule.maximum,
                "default": rule.default}
    schema: Schema = {"type": "number", "exclusiveMinimum": 0, "maximum": _plain(rule.maximum)}
    if rule.default > 0:  # 0: no default (queue max_wait: absent is the queue's own)
        schema["default"] = _plain(rule.default)
    return schema


def _node(kind: str, description: str, fields: dict[str, Schema], required: list[str]) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "kind": {"const": kind},
            "description": {
                "type": "string",
                "description": "Free text for people reading the flow.",
            },
            **fields,
        },
        "required": ["kind", *required],
        "additionalProperties": False,
    }


def _nodes() -> dict[str, Schema]:
    nxt = _d(_ref("nodeName"), "The node to go to next.")
    failure = _d(_ref("nodeName"), "The node to go to when this one fails.")
    prompts = _ref("prompts")
    return {
        "play": _node(
            "play",
            "Play prompts in order, then go to next.",
            {
                "prompts": _d(prompts, "What to play, in order."),
                "barge_in": _d(
                    _scalar("play", "barge_in"),
                    "A key stops the playback and is kept for the next menu or collect.",
                ),
                "next": nxt,
            },
            ["prompts", "next"],
        ),
        "menu": _node(
            "menu",
            "Play prompts and wait for one key; each key names a node.",
            {
                "prompts": prompts,
                "options": _d(
                    {
                        "type": "object",
                        "propertyNames": {"pattern": "^[0-9*#]$"},
                        "additionalProperties": _ref("nodeName"),
                        "minProperties": 1,
                    },
                    "Key (0-9, quoted '*' or '#') -> node.",
                ),
                "timeout": _d(
                    _scalar("menu", "timeout"), "Seconds to wait for a key after the prompts."
                ),
                "max_retries": _d(
                    _scalar("menu", "max_retries"), "Replays after a wrong key or no key."
                ),
                "invalid_prompts": _d(prompts, "Played before the menu again after a wrong key."),
                "timeout_prompts": _d(prompts, "Played before the menu again after no key."),
                "barge_in": _d(_scalar("menu", "barge_in"), "A key stops the prompts."),
                "into": _d(VARIABLE, "Variable that receives the chosen key."),
                "on_failure": _d(_ref("nodeName"), "Where to go when the retries are used up."),
            },
            ["prompts", "options", "on_failure"],
        ),
        "collect": _node(
            "collect",
            "Play prompts and collect digits into a variable.",
            {
                "prompts": prompts,
                "into": _d(VARIABLE, "Variable that receives the digits."),
                "min_digits": _scalar("collect", "min_digits"),
                "max_digits": _scalar("collect", "max_digits"),
                "terminator": _d(
                    {"enum": ["#", "*", "", None], "default": "#"},
                    "Key that ends the input early; empty for none.",
                ),
                "first_digit_timeout": _scalar("collect", "first_digit_timeout"),
                "inter_digit_timeout": _scalar("collect", "inter_digit_timeout"),
                "pattern": _d(
                    {"type": "string", "format": "regex"},
                    "Regular expression the whole input must match.",
                ),
                "max_retries": _scalar("collect", "max_retries"),
                "invalid_prompts": prompts,
                "timeout_prompts": prompts,
                "barge_in": _scalar("collect", "barge_in"),
                "next": nxt,
                "on_failure": _d(_ref("nodeName"), "Where to go when the retries are used up."),
            },
            ["prompts", "into", "max_digits", "next", "on_failure"],
        ),
        "schedule": _node(
            "schedule",
            "Open or closed, from weekly hours and dated exceptions in a timezone.",
            {
                "timezone": _d(
                    {"type": "string"}, "IANA timezone, e.g. Asia/Dubai; default: the flow's."
                ),
                "weekly": _d(
                    {
                        "type": "object",
                        "propertyNames": {"pattern": f"^({DAYS})(-({DAYS}))?$"},
                        "additionalProperties": _ref("hours"),
                    },
                    "Day or day range (mon-fri) -> opening hours; days not listed are closed.",
                ),
                "exceptions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "date": _ref("date"),
                            "until": _d(_ref("date"), "Last day, inclusive."),
                            "name": {"type": "string"},
                            "hours": _d(_ref("hours"), "Opening hours that day; absent: closed."),
                        },
                        "required": ["date"],
                        "additionalProperties": False,
                    },
                },
                "open": nxt,
                "closed": nxt,
            },
            ["weekly", "open", "closed"],
        ),
        "language": _node(
            "language",
            "Set the call's language (one of the flow's languages).",
            {"language": TEMPLATE, "next": nxt},
            ["language", "next"],
        ),
        "set": _node(
            "set",
            "Set variables.",
            {
                "variables": {
                    "type": "object",
                    "propertyNames": VARIABLE,
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                    "minProperties": 1,
                },
                "next": nxt,
            },
            ["variables", "next"],
        ),
        "branch": _node(
            "branch",
            "The first case whose condition holds picks the next node; else the else node.",
            {
                "cases": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "if": _d(
                                {"type": "string"},
                                'Condition, e.g. tier == "gold" and caller matches "^\\+9715".',
                            ),
                            "next": nxt,
                        },
                        "required": ["if", "next"],
                        "additionalProperties": False,
                    },
                },
                "else": nxt,
            },
            ["cases", "else"],
        ),
        "lookup": _node(
            "lookup",
            "HTTP request to a CRM; JSON fields into variables.",
            {
                "method": {"enum": ["GET", "POST"], "default": "GET"},
                "url": _d(
                    {"type": "string", "pattern": "^https?://"},
                    "URL; ${var} values are URL-encoded; the host cannot hold variables.",
                ),
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number"]},
                },
                "body": _d(
                    {
                        "type": "object",
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                    },
                    "JSON object sent with POST.",
                ),
                "timeout": _scalar("lookup", "timeout"),
                "into": _d(
                    {
                        "type": "object",
                        "propertyNames": VARIABLE,
                        "additionalProperties": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$",
                        },
                    },
                    "Variable -> dotted path in the JSON answer, e.g. customer.tier.",
                ),
                "next": nxt,
                "on_failure": failure,
            },
            ["url", "next", "on_failure"],
        ),
        "queue": _node(
            "queue",
            "Hand the call to an ACD queue.",
            {
                "queue": _d(TEMPLATE, "Queue name."),
                "priority": _d({**LEVEL, "default": 0}, "Whole number or ${variable}."),
                "skills": _d(
                    {"type": "object", "additionalProperties": LEVEL},
                    "Required skill -> level; names and levels may use ${variables}.",
                ),
                "max_wait": _d(
                    _scalar("queue", "max_wait"), "Seconds before the ACD hands the call back."
                ),
                "next": _d(
                    _ref("nodeName"),
                    "Where the call goes if the ACD hands it back; else the ACD owns the call.",
                ),
            },
            ["queue"],
        ),
        "transfer": _node(
            "transfer",
            "Transfer to an agent, another flow or an external number (give exactly one).",
            {
                "agent": _d({"type": ["string", "integer"]}, "Agent id."),
                "number": _d(
                    {"type": "string"}, "External number through the trunk, e.g. +97145550199."
                ),
                "flow": _d(_ref("nodeName"), "Another flow of the same set."),
                "on_failure": _d(
                    _ref("nodeName"), "Where to go if the transfer fails; without it the flow ends."
                ),
            },
            [],
        ),
        "voicemail": _node(
            "voicemail",
            "Play prompts, beep and record a message.",
            {
                "prompts": prompts,
                "queue": _d(TEMPLATE, "The queue's mailbox."),
                "agent": _d({"type": ["string", "integer"]}, "The agent's mailbox."),
                "max_seconds": _scalar("voicemail", "max_seconds"),
                "max_silence": _scalar("voicemail", "max_silence"),
                "beep": _scalar("voicemail", "beep"),
                "next": nxt,
                "on_failure": _d(
                    _ref("nodeName"), "Where to go if recording fails; default: next."
                ),
            },
            ["next"],
        ),
        "hangup": _node(
            "hangup",
            "Hang up.",
            {"cause": {"enum": list(HANGUP_CAUSES), "default": "normal"}},
            [],
        ),
    }


def build_schema() -> Schema:
    nodes = _nodes()
    prompt_item: Schema = {
        "oneOf": [
            _d({"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]*$"}, "A prompt name."),
            {
                "type": "object",
                "properties": {"prompt": {"type": "string"}, "language": {"type": "string"}},
                "required": ["prompt"],
                "additionalProperties": False,
                "description": "A prompt in a given language, whatever the call's language.",
            },
            {
                "type": "object",
                "properties": {"sound": {"type": "string"}},
                "required": ["sound"],
                "additionalProperties": False,
                "description": "An Asterisk sound by name, e.g. beep.",
            },
            {
                "type": "object",
                "properties": {"digits": {"type": ["string", "integer"]}},
                "required": ["digits"],
                "additionalProperties": False,
                "description": "Say digit by digit, e.g. ${account}.",
            },
            {
                "type": "object",
                "properties": {"number": {"type": ["string", "integer"]}},
                "required": ["number"],
                "additionalProperties": False,
                "description": "Say a whole number, e.g. ${balance}.",
            },
        ]
    }
    prompt_file: Schema = {
        "oneOf": [
            _d({"type": "string"}, "The text; the file is pbx/<prompt name>."),
            {
                "type": "object",
                "properties": {
                    "file": _d(
                        {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_/-]*$"},
                        "Sound name below sounds/<language>/, without extension.",
                    ),
                    "text": {"type": "string"},
                },
                "additionalProperties": False,
                "minProperties": 1,
            },
        ]
    }
    node: Schema = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(NODE_FIELDS)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": kind}}}, "then": _ref(f"{kind}Node")}
            for kind in NODE_FIELDS
        ],
    }
    flow: Schema = {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "dids": _d(
                {"type": "array", "items": {"type": "string", "pattern": "^\\+?[0-9]{1,20}$"}},
                "Dialled numbers this flow answers; each DID once in the whole set.",
            ),
            "entry": _d(_ref("nodeName"), "The first node."),
            "languages": _d(
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$"},
                    "minItems": 1,
                    "uniqueItems": True,
                    "default": ["en"],
                },
                "Languages of the flow; the first is the call's language at the start.",
            ),
            "fallbacks": _d(
                {"type": "object", "additionalProperties": {"type": "string"}},
                "Language -> language whose prompt plays when one is missing, e.g. {ar: en}.",
            ),
            "prompts": _d(
                {
                    "type": "object",
                    "propertyNames": {"pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]*$"},
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": prompt_file,
                    },
                },
                "Prompt name -> language -> text, or {file, text}.",
            ),
            "timezone": _d({"type": "string", "default": "UTC"}, "IANA timezone of the flow."),
            "max_steps": _d(
                _scalar("flow", "max_steps"),
                "Nodes a call may enter before it is hung up (stops loops).",
            ),
            "variables": _d(
                {
                    "type": "object",
                    "propertyNames": VARIABLE,
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
                "Variables and their values when a call starts.",
            ),
            "nodes": {
                "type": "object",
                "propertyNames": NODE_NAME,
                "additionalProperties": _ref("node"),
                "minProperties": 1,
            },
        },
        "required": ["entry", "nodes"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pbx-stasis IVR flows",
        "description": "IVR flows: see docs/ivr.md.",
        "type": "object",
        "properties": {
            "flows": {
                "type": "object",
                "propertyNames": NODE_NAME,
                "additionalProperties": _ref("flow"),
            }
        },
        "required": ["flows"],
        "additionalProperties": False,
        "$defs": {
            "flow": flow,
            "node": node,
            **{f"{kind}Node": schema for kind, schema in nodes.items()},
            "nodeName": NODE_NAME,
            "promptItem": prompt_item,
            "prompts": {
                "oneOf": [_ref("promptItem"), {"type": "array", "items": _ref("promptItem")}]
            },
            "hours": {
                "oneOf": [
                    {
                        "type": "string",
                        "pattern": "^([0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}|closed)$",
                    },
                    {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "pattern": "^[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}$",
                        },
                    },
                ],
                "description": "HH:MM-HH:MM, a list of them, or [] / closed.",
            },
            "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        },
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def node_fields_in_schema() -> dict[str, set[str]]:
    """Fields the schema allows per node kind (to compare with the loader's)."""
    defs = build_schema()["$defs"]
    return {
        kind: set(defs[f"{kind}Node"]["properties"]) - set(COMMON_NODE_FIELDS)
        for kind in NODE_FIELDS
    }


if __name__ == "__main__":
    sys.stdout.write(schema_text())
