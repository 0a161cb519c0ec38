"""The parts of an IVR flow file and their fields, declared once.

Each part (the file, a flow, each node kind, a prompt item, a schedule exception, a branch case)
is one `Part`: its fields, which are required, what they mean and their JSON Schema shape. The
loader (ivr/loader.py) takes from here the fields it allows and requires, with its messages and
positions, and the rules of the plain fields it reads (`Seconds`, `Whole`, `Flag`); ivr/schema.py
generates the editors' JSON Schema from the same tables. What a shape cannot say (references,
timezones, regexes that compile, conditions, templates) only the loader checks, by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pbx_stasis.ivr.expr import MAX_CONDITION_CHARS, MAX_PATTERN_CHARS, VARIABLE_NAME
from pbx_stasis.ivr.model import DEFAULT_MAX_STEPS, WEEKDAYS

Schema = dict[str, Any]


@dataclass(frozen=True)
class Seconds:
    """A positive number of seconds, at most `maximum`."""

    default: float
    maximum: float


@dataclass(frozen=True)
class Whole:
    """A whole number from `minimum` to `maximum`."""

    default: int
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Flag:
    """true or false."""

    default: bool


Scalar = Seconds | Whole | Flag


@dataclass(frozen=True)
class Field:
    """One field of a part: its shape is a plain rule the loader reads it with, or a JSON Schema
    fragment for the editors (the loader checks such a value with its own code)."""

    name: str
    shape: Scalar | Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Part:
    """A mapping of a flow file: its fields in order, and what JSON Schema adds about them
    together (`rule`, e.g. exactly one of three fields), which the loader checks by hand."""

    name: str  # its $defs name in the JSON Schema
    description: str
    fields: tuple[Field, ...]
    rule: Schema = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


# --- values: the loader matches them with these regexes; the schema takes their patterns ---------

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
PROMPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")
SOUND_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:/[A-Za-z0-9_][A-Za-z0-9_-]*)*\Z")
# An Asterisk sound played by name: the rule the interpreter applies (core._SOUND_NAME).
SOUND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_/-]*\Z")
# A header name is an HTTP token (RFC 9110).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?\Z")
DID = re.compile(r"\+?[0-9]{1,20}\Z")
DIAL_NUMBER = re.compile(r"\+?[0-9*#]{1,32}\Z")
TIME_RANGE = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*\Z")
JSON_PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# What a prompt item says when written without a variable: keys digit by digit, a whole number.
SAID_DIGITS = re.compile(r"[0-9*#]+\Z")
SAID_NUMBER = re.compile(r"-?[0-9]+\Z")
# A transfer names exactly one target; a voicemail at most one mailbox (neither: the general one).
TRANSFER_TARGETS = ("agent", "number", "flow")
MAILBOXES = ("queue", "agent")
HANGUP_CAUSES = ("normal", "busy", "congestion", "no_answer", "rejected", "unallocated", "failure")
MENU_KEYS = frozenset("0123456789*#")


def pattern(regex: re.Pattern[str]) -> str:
    """The JSON Schema pattern of a regex the loader applies with `match` (anchored, `\\Z`); none
    of these has a `|` outside a group, so the anchors need no group around it."""
    return "^" + regex.pattern.removesuffix(r"\Z") + "$"


def any_case(word: str) -> str:
    """A pattern matching `word` in any case (JSON Schema patterns take no flags)."""
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)


def literal_or_template(regex: re.Pattern[str]) -> Schema:
    """Text the loader checks against `regex` when it holds no ${variable} (or a whole number)."""
    return {
        "type": ["string", "integer"],
        "pattern": f"^({pattern(regex).removeprefix('^').removesuffix('$')}|.*\\$\\{{.*)$",
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


NODE_NAME: Schema = {"type": "string", "pattern": pattern(NAME)}
VARIABLE: Schema = {"type": "string", "pattern": pattern(VARIABLE_NAME)}
TEXT: Schema = {"type": "string", "minLength": 1}  # the loader refuses an empty text
TEMPLATE: Schema = TEXT  # text with ${variables}, checked by the loader
TEXT_OR_WHOLE: Schema = {"type": ["string", "integer"], "minLength": 1}
LEVEL: Schema = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "\\$\\{[a-z_][a-z0-9_]*\\}"},
    ]
}
VALUE: Schema = {"type": ["string", "number", "boolean"]}
# A language the flow declares: the loader refuses a code that does not match, so this pattern
# already holds where it wants a declared one (fallbacks, a prompt's languages).
LANGUAGE: Schema = {"type": "string", "pattern": pattern(LANGUAGE_CODE)}
# A prompt the flow defines, by its name.
PROMPT: Schema = {"type": "string", "pattern": pattern(PROMPT_NAME)}
# The loader reads a weekday or a range in any case, with spaces around its parts.
DAYS = "|".join(any_case(day) for day in WEEKDAYS)
# Where a prompt list may not be empty (play, menu, collect): minItems binds only a list.
SOME_PROMPTS: Schema = {**ref("prompts"), "minItems": 1}
# Hours as the loader reads them: HH:MM-HH:MM with spaces around, or closed in any case.
_RANGE = pattern(TIME_RANGE).removeprefix("^").removesuffix("$")
_HOURS = f"^({_RANGE}|\\s*{any_case('closed')}\\s*)$"

def _next(description: str = "The node to go to next.", required: bool = True) -> Field:
    return Field("next", ref("nodeName"), description, required)


def _failure(description: str, required: bool = True) -> Field:
    return Field("on_failure", ref("nodeName"), description, required)


def _node(kind: str, description: str, *fields: Field, rule: Schema | None = None) -> Part:
    """A node kind: `kind` and `description`, as every node has, then its own fields."""
    common = (
        Field("kind", {"const": kind}, required=True),
        Field("description", {"type": "string"}, "Free text for people reading the flow."),
    )
    return Part(f"{kind}Node", description, common + fields, rule or {})


COMMON_NODE_FIELDS = ("kind", "description")

NODE_KINDS: dict[str, Part] = {
    part.name.removesuffix("Node"): part
    for part in (
        _node(
            "play",
            "Play prompts in order, then go to next.",
            Field("prompts", SOME_PROMPTS, "What to play, in order.", required=True),
            Field(
                "barge_in",
                Flag(False),
                "A key stops the playback and is kept for the next menu or collect.",
            ),
            _next(),
        ),
        _node(
            "menu",
            "Play prompts and wait for one key; each key names a node.",
            Field("prompts", SOME_PROMPTS, required=True),
            Field(
                "options",
                {
                    "type": "object",
                    "propertyNames": {"pattern": "^[0-9*#]$"},
                    "additionalProperties": ref("nodeName"),
                    "minProperties": 1,
                },
                "Key (0-9, quoted '*' or '#') -> node.",
                required=True,
            ),
            Field("timeout", Seconds(5.0, 600), "Seconds to wait for a key after the prompts."),
            Field("max_retries", Whole(2, 0, 20), "Replays after a wrong key or no key."),
            Field(
                "invalid_prompts", ref("prompts"), "Played before the menu again after a wrong key."
            ),
            Field("timeout_prompts", ref("prompts"), "Played before the menu again after no key."),
            Field("barge_in", Flag(True), "A key stops the prompts."),
            Field("into", VARIABLE, "Variable that receives the chosen key."),
            _failure("Where to go when the retries are used up."),
        ),
        _node(
            "collect",
            "Play prompts and collect digits into a variable.",
            Field("prompts", SOME_PROMPTS, required=True),
            Field("into", VARIABLE, "Variable that receives the digits.", required=True),
            Field("min_digits", Whole(1, 1, 64)),
            Field("max_digits", Whole(20, 1, 64), required=True),
            Field(
                "terminator",
                {"enum": ["#", "*", "", None], "default": "#"},
                "Key that ends the input early; empty for none.",
            ),
            Field("first_digit_timeout", Seconds(5.0, 600)),
            Field("inter_digit_timeout", Seconds(3.0, 600)),
            Field(
                "pattern",
                {**TEXT, "maxLength": MAX_PATTERN_CHARS, "format": "regex"},
                "Regular expression the whole input must match.",
            ),
            Field("max_retries", Whole(2, 0, 20)),
            Field("invalid_prompts", ref("prompts")),
            Field("timeout_prompts", ref("prompts")),
            Field("barge_in", Flag(True)),
            _next(),
            _failure("Where to go when the retries are used up."),
        ),
        _node(
            "schedule",
            "Open or closed, from weekly hours and dated exceptions in a timezone.",
            Field("timezone", TEXT, "IANA timezone, e.g. Asia/Dubai; default: the flow's."),
            Field(
                "weekly",
                {
                    "type": "object",
                    "propertyNames": {"pattern": f"^\\s*({DAYS})\\s*(-\\s*({DAYS})\\s*)?$"},
                    "additionalProperties": ref("hours"),
                },
                "Day or day range (mon-fri) -> opening hours; days not listed are closed.",
                required=True,
            ),
            Field("exceptions", {"type": "array", "items": ref("exception")}),
            Field("open", ref("nodeName"), "The node to go to next.", required=True),
            Field("closed", ref("nodeName"), "The node to go to next.", required=True),
        ),
        _node(
            "language",
            "Set the call's language (one of the flow's languages).",
            Field("language", TEMPLATE, required=True),
            _next(),
        ),
        _node(
            "set",
            "Set variables.",
            Field(
                "variables",
                {
                    "type": "object",
                    "propertyNames": VARIABLE,
                    "additionalProperties": VALUE,
                    "minProperties": 1,
                },
                required=True,
            ),
            _next(),
        ),
        _node(
            "branch",
            "The first case whose condition holds picks the next node; else the else node.",
            Field(
                "cases", {"type": "array", "minItems": 1, "items": ref("case")}, required=True
            ),
            Field("else", ref("nodeName"), "The node to go to next.", required=True),
        ),
        _node(
            "lookup",
            "HTTP request to a CRM; JSON fields into variables.",
            Field("method", {"enum": ["GET", "POST"], "default": "GET"}),
            Field(
                "url",
                # The loader reads the scheme in any case, as urlsplit does.
                {"type": "string", "pattern": f"^{any_case('http')}[Ss]?://"},
                "URL; ${var} values are URL-encoded; the host cannot hold variables.",
                required=True,
            ),
            Field(
                "headers",
                {
                    "type": "object",
                    "propertyNames": {"pattern": pattern(HEADER_NAME)},
                    "additionalProperties": TEXT_OR_WHOLE,
                },
            ),
            Field(
                "body",
                {"type": "object", "additionalProperties": VALUE},
                "JSON object sent with POST.",
            ),
            Field("timeout", Seconds(3.0, 60)),
            Field(
                "into",
                {
                    "type": "object",
                    "propertyNames": VARIABLE,
                    "additionalProperties": {"type": "string", "pattern": pattern(JSON_PATH)},
                },
                "Variable -> dotted path in the JSON answer, e.g. customer.tier.",
            ),
            _next(),
            _failure("The node to go to when this one fails."),
            # A body is sent only with POST.
            rule={
                "if": {"required": ["body"]},
                "then": {"required": ["method"], "properties": {"method": {"const": "POST"}}},
            },
        ),
        _node(
            "queue",
            "Hand the call to an ACD queue.",
            Field("queue", TEMPLATE, "Queue name.", required=True),
            Field("priority", {**LEVEL, "default": 0}, "Whole number or ${variable}."),
            Field(
                "skills",
                {"type": "object", "additionalProperties": LEVEL},
                "Required skill -> level; names and levels may use ${variables}.",
            ),
            # Absent: the queue's own max_wait.
            Field("max_wait", Seconds(0.0, 86400), "Seconds before the ACD hands the call back."),
            _next(
                "Where the call goes if the ACD hands it back; else the ACD owns the call.",
                required=False,
            ),
        ),
        _node(
            "callback",
            "Offer to call the caller back: a callback to the caller's number joins an ACD "
            "queue (now, or after a delay) and an agent calls them when it reaches the front.",
            Field("queue", TEMPLATE, "Queue name.", required=True),
            # Absent: at once (it waits in the queue from now, in the order of arrival).
            Field("delay", Seconds(0.0, 2592000), "Seconds from now before it joins the queue."),
            _next("Where the call goes once the callback is taken (a thank-you, a hangup)."),
            _failure("Where to go if no callback can be taken (the dialling policy refuses "
                     "the caller's number, no ACD); default: next.", False),
        ),
        _node(
            "transfer",
            "Transfer to an agent, another flow or an external number (give exactly one).",
            Field("agent", TEXT_OR_WHOLE, "Agent id."),
            Field(
                "number", TEXT_OR_WHOLE, "External number through the trunk, e.g. +97145550199."
            ),
            Field("flow", ref("nodeName"), "Another flow of the same set."),
            _failure("Where to go if the transfer fails; without it the flow ends.", False),
            rule={"oneOf": [{"required": [target]} for target in TRANSFER_TARGETS]},
        ),
        _node(
            "voicemail",
            "Play prompts, beep and record a message.",
            Field("prompts", ref("prompts")),
            Field("queue", TEXT_OR_WHOLE, "The queue's mailbox."),
            Field("agent", TEXT_OR_WHOLE, "The agent's mailbox."),
            Field("max_seconds", Seconds(120.0, 3600)),
            Field("max_silence", Seconds(5.0, 600)),
            Field("beep", Flag(True)),
            _next(),
            _failure("Where to go if recording fails; default: next.", False),
            rule={"not": {"required": list(MAILBOXES)}},
        ),
        _node(
            "hangup",
            "Hang up.",
            Field("cause", {"enum": list(HANGUP_CAUSES), "default": "normal"}),
        ),
    )
}

# A prompt item other than a bare prompt name: a mapping of one of these parts.
PROMPT_IN_LANGUAGE = Part(
    "promptInLanguage",
    "A prompt in a given language, whatever the call's language.",
    (Field("prompt", PROMPT, required=True), Field("language", LANGUAGE)),
)
SAID_ITEMS = (
    Part(
        "soundItem",
        "An Asterisk sound by name, e.g. beep.",
        (Field("sound", TEXT_OR_WHOLE, required=True),),
    ),
    Part(
        "digitsItem",
        "Say digit by digit, e.g. ${account}.",
        (Field("digits", {**literal_or_template(SAID_DIGITS), "minimum": 0}, required=True),),
    ),
    Part(
        "numberItem",
        "Say a whole number, e.g. ${balance}.",
        (Field("number", literal_or_template(SAID_NUMBER), required=True),),
    ),
)
PROMPT_FILE = Part(
    "promptFile",
    "A recorded sound file, its text (to generate it), or both.",
    (
        Field(
            "file",
            {"type": "string", "pattern": pattern(SOUND_FILE)},
            "Sound name below sounds/<language>/, without extension.",
        ),
        Field("text", TEXT),
    ),
    {"minProperties": 1},
)
EXCEPTION = Part(
    "exception",
    "Dated hours replacing the weekly ones from date to until; without hours, closed.",
    (
        Field("date", ref("date"), required=True),
        Field("until", ref("date"), "Last day, inclusive."),
        Field("name", TEXT),
        Field("hours", ref("hours"), "Opening hours that day; absent: closed."),
    ),
)
CASE = Part(
    "case",
    "A condition and the node it leads to.",
    (
        Field(
            "if",
            {**TEXT, "maxLength": MAX_CONDITION_CHARS},
            'Condition, e.g. tier == "gold" and caller matches "^\\+9715".',
            required=True,
        ),
        _next(required=True),
    ),
)

_DID: Schema = {"type": ["string", "integer"], "pattern": pattern(DID), "minimum": 0}
FLOW = Part(
    "flow",
    "",
    (
        Field("description", TEXT),
        Field(
            "dids",
            {"oneOf": [_DID, {"type": "array", "items": _DID}]},
            "Dialled numbers this flow answers; each DID once in the whole set.",
        ),
        Field("entry", ref("nodeName"), "The first node.", required=True),
        Field(
            "languages",
            {
                "type": "array",
                "items": LANGUAGE,
                "minItems": 1,
                "uniqueItems": True,
                "default": ["en"],
            },
            "Languages of the flow; the first is the call's language at the start.",
        ),
        Field(
            "fallbacks",
            {"type": "object", "propertyNames": LANGUAGE, "additionalProperties": LANGUAGE},
            "Language -> language whose prompt plays when one is missing, e.g. {ar: en}.",
        ),
        Field(
            "prompts",
            {
                "type": "object",
                "propertyNames": {"pattern": pattern(PROMPT_NAME)},
                "additionalProperties": {
                    "type": "object",
                    "propertyNames": LANGUAGE,
                    "additionalProperties": {
                        "oneOf": [
                            {**TEXT, "description": "The text; the file is pbx/<prompt name>."},
                            ref("promptFile"),
                        ]
                    },
                },
            },
            "Prompt name -> language -> text, or {file, text}.",
        ),
        Field("timezone", {**TEXT, "default": "UTC"}, "IANA timezone of the flow."),
        Field(
            "max_steps",
            Whole(DEFAULT_MAX_STEPS, 1, 100_000),
            "Nodes a call may enter before it is hung up (stops loops).",
        ),
        Field(
            "variables",
            {"type": "object", "propertyNames": VARIABLE, "additionalProperties": VALUE},
            "Variables and their values when a call starts.",
        ),
        Field(
            "nodes",
            {
                "type": "object",
                "propertyNames": NODE_NAME,
                "additionalProperties": ref("node"),
                "minProperties": 1,
            },
            required=True,
        ),
    ),
)
ROOT = Part(
    "file",
    "IVR flows: see docs/ivr.md.",
    (
        Field(
            "flows",
            {"type": "object", "propertyNames": NODE_NAME, "additionalProperties": ref("flow")},
            required=True,
        ),
    ),
)

# Named fragments the parts share ($defs of the JSON Schema, besides one per part).
FRAGMENTS: dict[str, Schema] = {
    "nodeName": NODE_NAME,
    "promptItem": {
        "oneOf": [
            {**PROMPT, "description": "A prompt name."},
            *(ref(part.name) for part in (PROMPT_IN_LANGUAGE, *SAID_ITEMS)),
        ]
    },
    "prompts": {"oneOf": [ref("promptItem"), {"type": "array", "items": ref("promptItem")}]},
    "hours": {
        "oneOf": [
            {"type": "string", "pattern": _HOURS},
            {"type": "array", "items": {"type": "string", "pattern": _HOURS}},
        ],
        "description": "HH:MM-HH:MM, a list of them, or [] / closed.",
    },
    "date": {"type": "string", "pattern": pattern(DATE)},
}


# Every part the JSON Schema names in its $defs (the file itself is its root).
PARTS: tuple[Part, ...] = (
    FLOW,
    *NODE_KINDS.values(),
    PROMPT_IN_LANGUAGE,
    *SAID_ITEMS,
    PROMPT_FILE,
    EXCEPTION,
    CASE,
)

# The rule of each plain field, by (node kind or "flow", field): the loader reads with it.
SCALARS: dict[tuple[str, str], Scalar] = {
    (owner, f.name): f.shape
    for owner, part in (("flow", FLOW), *NODE_KINDS.items())
    for f in part.fields
    if isinstance(f.shape, Seconds | Whole | Flag)
}
FLOW_FIELDS = FLOW.names()
# Each kind's own fields (without COMMON_NODE_FIELDS) and its required ones.
NODE_FIELDS: dict[str, tuple[str, ...]] = {
    kind: part.names()[len(COMMON_NODE_FIELDS) :] for kind, part in NODE_KINDS.items()
}
NODE_REQUIRED: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in part.required() if name not in COMMON_NODE_FIELDS)
    for kind, part in NODE_KINDS.items()
}
