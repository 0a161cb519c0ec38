"""Load and validate IVR flow files into a FlowSet, reporting every mistake as file:line:column.

Validation never stops at the first mistake: each field is checked on its own, cross references
(next nodes, prompts, variables, flows, DIDs) are checked once the whole set is read, and each
mistake is reported once, where it was written.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from pbx_stasis.ivr.errors import FlowSetInvalid, Pos, Problem
from pbx_stasis.ivr.expr import (
    VARIABLE_NAME,
    ExprError,
    Template,
    Value,
    compile_pattern,
    condition_variables,
    parse_condition,
    parse_template,
    suggest,
)
from pbx_stasis.ivr.fields import (
    CASE,
    DATE,
    DIAL_NUMBER,
    DID,
    EXCEPTION,
    FLOW,
    HANGUP_CAUSES,
    HEADER_NAME,
    JSON_PATH,
    LANGUAGE_CODE,
    MAILBOXES,
    MENU_KEYS,
    NAME,
    NODE_KINDS,
    PROMPT_FILE,
    PROMPT_IN_LANGUAGE,
    PROMPT_NAME,
    ROOT,
    SAID_DIGITS,
    SAID_ITEMS,
    SAID_NUMBER,
    SCALARS,
    SOUND_FILE,
    SOUND_NAME,
    TIME_RANGE,
    TRANSFER_TARGETS,
    Flag,
    Seconds,
    Whole,
)
from pbx_stasis.ivr.hosts import internal_host
from pbx_stasis.ivr.model import (
    WEEKDAYS,
    BranchCase,
    BranchNode,
    CallbackNode,
    CollectNode,
    Digits,
    Flow,
    FlowSet,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    Number,
    PlayNode,
    PromptFile,
    PromptItem,
    PromptRef,
    QueueNode,
    Schedule,
    ScheduleException,
    ScheduleNode,
    SetNode,
    Sound,
    TimeRange,
    TransferNode,
    VoicemailNode,
    frozen_map,
)
from pbx_stasis.ivr.source import MAX_FLOW_CHARS, YMap, YNode, YScalar, YSeq, parse_yaml

BUILTIN_VARIABLES = ("caller", "did", "flow", "language", "time", "weekday", "date")

Source = tuple[str, str]  # (file name, text)
MAX_MESSAGE_CHARS = 300
# All the files of one FlowSet (a tenant's flows are validated together).
MAX_FLOWSET_CHARS = 5 * MAX_FLOW_CHARS


@dataclass
class _FlowRefs:
    """What a flow's nodes point at, checked once every node is read."""

    nodes: list[tuple[str, Pos]] = field(default_factory=list)
    prompts: list[tuple[str, Pos]] = field(default_factory=list)
    reads: list[tuple[str, Pos]] = field(default_factory=list)
    writes: list[tuple[str, Pos]] = field(default_factory=list)
    languages: list[tuple[str, Pos]] = field(default_factory=list)


@dataclass
class _FlowDraft:
    name: str
    pos: Pos
    flow: Flow
    node_pos: dict[str, Pos]
    prompt_pos: dict[str, Pos]
    refs: _FlowRefs
    loose_edges: dict[str, set[str]]  # edges of nodes too broken to build


@dataclass(frozen=True)
class _NodeSource:
    """A node's fields as written (unknown and missing ones already reported)."""

    name: str
    pos: Pos
    owner: str  # e.g. "menu node 'main'", for messages
    fields: dict[str, tuple[YScalar, YNode]]
    refs: _FlowRefs
    languages: tuple[str, ...]

    def get(self, name: str) -> YNode | None:
        found = self.fields.get(name)
        return None if found is None else found[1]


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    if node.value is None:
        return "empty"
    if isinstance(node.value, bool):
        return "true/false"
    if isinstance(node.value, int | float):
        return "a number"
    return "text"


class _Checker:
    """Reads YAML trees into flows while collecting problems."""

    def __init__(self, internal_lookups: bool = False) -> None:
        self.problems: list[Problem] = []
        self.internal_lookups = internal_lookups
        self._owner = "the flow"  # the node being read, for messages that name it
        self._seen: set[tuple[Pos, str]] = set()
        self._dids: list[tuple[str, Pos, str]] = []  # DID, where, flow
        self._flow_refs: list[tuple[str, Pos]] = []  # transfer targets
        self._flow_tz: zoneinfo.ZoneInfo | None = None  # default timezone of schedules

    def report(self, pos: Pos, message: str, *, warning: bool = False) -> None:
        if len(message) > MAX_MESSAGE_CHARS:
            # Messages quote what was written, which may be a 100 KB scalar.
            message = message[: MAX_MESSAGE_CHARS - 3] + "..."
        if (pos, message) not in self._seen:
            self._seen.add((pos, message))
            self.problems.append(Problem(pos, message, warning))

    def has_errors(self) -> bool:
        return any(not problem.warning for problem in self.problems)

    # --- generic field access -------------------------------------------------------------------

    def fields(
        self,
        m: YMap,
        allowed: Sequence[str],
        owner: str,
        owner_pos: Pos,
        required: Sequence[str] = (),
    ) -> dict[str, tuple[YScalar, YNode]]:
        out: dict[str, tuple[YScalar, YNode]] = {}
        for key, value in m:
            name = key.text if key.value is not None else ""
            if not isinstance(key.value, str) or name not in allowed:
                self.report(key.pos, f"unknown field '{name}' in {owner}{suggest(name, allowed)}")
                continue
            out[name] = (key, value)
        for name in required:
            if name not in out:
                self.report(owner_pos, f"{owner} is missing required field '{name}'")
        return out

    def mapping(self, node: YNode, what: str) -> YMap | None:
        if isinstance(node, YMap):
            return node
        self.report(node.pos, f"{what} must be a mapping, not {_describe(node)}")
        return None

    def scalar_str(self, node: YNode, what: str, allow_number: bool = False) -> str | None:
        if isinstance(node, YScalar):
            if isinstance(node.value, str) and node.value != "":
                return node.value
            if allow_number and isinstance(node.value, int) and not isinstance(node.value, bool):
                return node.text
        self.report(node.pos, f"{what} must be text, not {_describe(node)}")
        return None

    def name(self, node: YNode, what: str) -> str | None:
        text = self.scalar_str(node, what)
        if text is None:
            return None
        if not NAME.match(text):
            self.report(node.pos, f"bad {what} '{text}': use letters, digits, _ and -")
            return None
        return text

    def seconds(self, node: YNode | None, owner: str, what: str) -> float:
        """A field of SCALARS that is seconds."""
        rule = SCALARS[(owner, what)]
        assert isinstance(rule, Seconds)
        return self.number(node, what, rule.default, maximum=rule.maximum)

    def whole(self, node: YNode | None, owner: str, what: str) -> int:
        """A field of SCALARS that is a whole number."""
        rule = SCALARS[(owner, what)]
        assert isinstance(rule, Whole)
        return self.integer(node, what, rule.default, rule.minimum, rule.maximum)

    def flag(self, node: YNode | None, owner: str, what: str) -> bool:
        """A field of SCALARS that is true or false."""
        rule = SCALARS[(owner, what)]
        assert isinstance(rule, Flag)
        return self.boolean(node, what, rule.default)

    def boolean(self, node: YNode | None, what: str, default: bool) -> bool:
        if node is None:
            return default
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self.report(node.pos, f"{what} must be true or false, not {_describe(node)}")
        return default

    def number(
        self, node: YNode | None, what: str, default: float, *, maximum: float | None = None
    ) -> float:
        """A positive number of seconds."""
        if node is None:
            return default
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            value = float(node.value)
            if not value > 0:
                self.report(
                    node.pos, f"{what} must be a positive number of seconds, not {node.text}"
                )
                return default
            if maximum is not None and value > maximum:
                self.report(node.pos, f"{what} must be at most {maximum:g} seconds")
                return default
            return value
        self.report(node.pos, f"{what} must be a number, not {_describe(node)}")
        return default

    def integer(
        self, node: YNode | None, what: str, default: int, minimum: int, maximum: int
    ) -> int:
        if node is None:
            return default
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            if not minimum <= node.value <= maximum:
                self.report(
                    node.pos, f"{what} must be between {minimum} and {maximum}, not {node.value}"
                )
                return default
            return node.value
        self.report(node.pos, f"{what} must be a whole number, not {_describe(node)}")
        return default

    def template(
        self, node: YNode, what: str, refs: _FlowRefs, allow_number: bool = False
    ) -> Template | None:
        text = self.scalar_str(node, what, allow_number=allow_number)
        if text is None:
            return None
        assert isinstance(node, YScalar)
        try:
            tpl = parse_template(text)
        except ExprError as exc:
            self.report(node.pos_at(exc.offset), f"{what}: {exc.message}")
            return None
        for ref in tpl.variables:
            refs.reads.append((ref.name, node.pos_at(ref.offset)))
        return tpl

    def variable(self, node: YNode | None, what: str, refs: _FlowRefs) -> str | None:
        if node is None:
            return None
        text = self.scalar_str(node, what)
        if text is None:
            return None
        if not VARIABLE_NAME.match(text):
            self.report(
                node.pos, f"bad variable name '{text}': use lowercase letters, digits and _"
            )
            return None
        refs.writes.append((text, node.pos))
        return text

    def node_ref(self, node: YNode | None, what: str, refs: _FlowRefs) -> str:
        """A node name, checked once every node is read; "" when absent."""
        if node is None:
            return ""
        text = self.scalar_str(node, what)
        if text is None:
            return ""
        refs.nodes.append((text, node.pos))
        return text

    # --- prompts --------------------------------------------------------------------------------

    def prompt_list(
        self, node: YNode | None, what: str, refs: _FlowRefs, required: bool
    ) -> tuple[PromptItem, ...]:
        if node is None:
            return ()
        items = node.items if isinstance(node, YSeq) else (node,)
        out: list[PromptItem] = []
        for item in items:
            parsed = self.prompt_item(item, what, refs)
            if parsed is not None:
                out.append(parsed)
        if required and not items:
            self.report(node.pos, f"{what} needs at least one prompt")
        return tuple(out)

    def prompt_item(self, item: YNode, what: str, refs: _FlowRefs) -> PromptItem | None:
        if isinstance(item, YScalar) and isinstance(item.value, str) and item.value:
            refs.prompts.append((item.value, item.pos))
            return PromptRef(item.value)
        if isinstance(item, YMap) and item.get("prompt") is not None:
            f = self.fields(item, PROMPT_IN_LANGUAGE.names(), "prompt item", item.pos)
            pnode = f["prompt"][1]
            pname = self.scalar_str(pnode, "prompt")
            lang: str | None = None
            if "language" in f:
                lnode = f["language"][1]
                lang = self.scalar_str(lnode, "language")
                if lang is not None:
                    refs.languages.append((lang, lnode.pos))
            if pname is None:
                return None
            refs.prompts.append((pname, pnode.pos))
            return PromptRef(pname, lang)
        if isinstance(item, YMap) and len(item.entries) == 1:
            key, value = item.entries[0]
            kinds = tuple(part.names()[0] for part in SAID_ITEMS)  # sound, digits, number
            if key.value in kinds:
                tpl = self.template(value, f"{what}: {key.text}", refs, allow_number=True)
                if tpl is None:
                    return None
                if key.value == "sound":
                    self.check_sound(value, tpl, what)
                    return Sound(tpl)
                if key.value == "digits":
                    if tpl.is_literal and not SAID_DIGITS.match(str(tpl)):
                        self.report(value.pos, f"digits to say must be 0-9, * or #, not '{tpl}'")
                    return Digits(tpl)
                if tpl.is_literal and not SAID_NUMBER.match(str(tpl)):
                    self.report(value.pos, f"number to say must be a whole number, not '{tpl}'")
                return Number(tpl)
            self.report(key.pos, f"unknown prompt item '{key.text}'{suggest(key.text, kinds)}")
            return None
        self.report(
            item.pos,
            f"{what}: a prompt is a prompt name or one of {{prompt: ..., language: ...}}, "
            "{sound: ...}, {digits: ...}, {number: ...}",
        )
        return None

    def check_sound(self, node: YNode, tpl: Template, what: str) -> None:
        # The interpreter plays only names matching SOUND_NAME once rendered; the text as
        # written (a variable standing for one segment) must already be one.
        skeleton = "".join(p if isinstance(p, str) else "x" for p in tpl.parts)
        if not SOUND_NAME.match(skeleton):
            self.report(
                node.pos,
                f"{self._owner}, {what}: '{_shown(str(tpl))}' is not a sound name: letters, "
                "digits, _, - and / (no '..', no leading '/', no url)",
            )

    # --- flows ----------------------------------------------------------------------------------

    def flow(self, fname: str, key: YScalar, body: YNode) -> _FlowDraft | None:
        owner = f"flow '{fname}'"
        m = self.mapping(body, owner)
        if m is None:
            return None
        f = self.fields(m, FLOW.names(), owner, key.pos, required=FLOW.required())
        refs = _FlowRefs()

        description = ""
        if "description" in f:
            description = self.scalar_str(f["description"][1], "description") or ""

        languages = self.languages(f.get("languages"))
        fallbacks = self.fallbacks(f.get("fallbacks"), languages)
        timezone = self.timezone(f["timezone"][1] if "timezone" in f else None)
        max_steps = self.whole(f["max_steps"][1] if "max_steps" in f else None, "flow", "max_steps")
        variables = self.initial_variables(f.get("variables"), refs)
        prompts, prompt_pos = self.prompts(f.get("prompts"), languages)

        dids: list[str] = []
        if "dids" in f:
            dnode = f["dids"][1]
            ditems = dnode.items if isinstance(dnode, YSeq) else (dnode,)
            for d in ditems:
                text = self.scalar_str(d, "a DID", allow_number=True)
                if text is None:
                    continue
                if not DID.match(text):
                    self.report(d.pos, f"bad DID '{text}': digits with an optional leading +")
                    continue
                dids.append(text)
                self._dids.append((text, d.pos, fname))

        nodes: dict[str, Node] = {}
        node_pos: dict[str, Pos] = {}
        loose: dict[str, set[str]] = {}
        if "nodes" in f:
            nmap = self.mapping(f["nodes"][1], "nodes")
            if nmap is not None:
                if not nmap.entries:
                    self.report(nmap.pos, f"{owner} has no nodes")
                for nkey, nbody in nmap:
                    nname = self.name(nkey, "node name")
                    if nname is None:
                        # Known anyway, so that `next: <it>` is not reported a second time.
                        node_pos[nkey.text] = nkey.pos
                        loose[nkey.text] = _strings(nbody)
                        continue
                    node_pos[nname] = nkey.pos
                    built = self.node(nname, nkey, nbody, refs, languages)
                    if built is None:
                        loose[nname] = _strings(nbody)
                    else:
                        nodes[nname] = built

        entry = ""
        if "entry" in f:
            entry = self.scalar_str(f["entry"][1], "entry") or ""
            if entry and entry not in node_pos and "nodes" in f:
                self.report(
                    f["entry"][1].pos,
                    f"entry '{entry}' is not a node of {owner}{suggest(entry, list(node_pos))}",
                )
                entry = ""

        flow = Flow(
            name=fname,
            description=description,
            dids=tuple(dids),
            entry=entry,
            languages=languages,
            fallbacks=frozen_map(fallbacks),
            prompts=frozen_map(prompts),
            timezone=timezone,
            max_steps=max_steps,
            variables=frozen_map(variables),
            nodes=frozen_map(nodes),
        )
        return _FlowDraft(fname, key.pos, flow, node_pos, prompt_pos, refs, loose)

    def languages(self, entry: tuple[YScalar, YNode] | None) -> tuple[str, ...]:
        if entry is None:
            return ("en",)
        node = entry[1]
        if not isinstance(node, YSeq) or not node.items:
            self.report(node.pos, "languages must be a non-empty list such as [en, ar]")
            return ("en",)
        out: list[str] = []
        for item in node.items:
            code = self.scalar_str(item, "a language")
            if code is None:
                continue
            if not LANGUAGE_CODE.match(code):
                self.report(item.pos, f"bad language code '{code}': use e.g. en, ar, fr_CA")
            elif code in out:
                self.report(item.pos, f"language '{code}' is listed twice")
            else:
                out.append(code)
        return tuple(out) or ("en",)

    def fallbacks(
        self, entry: tuple[YScalar, YNode] | None, languages: tuple[str, ...]
    ) -> dict[str, str]:
        if entry is None:
            return {}
        m = self.mapping(entry[1], "fallbacks")
        if m is None:
            return {}
        out: dict[str, str] = {}
        for key, value in m:
            target = self.scalar_str(value, f"fallback of '{key.text}'")
            if key.text not in languages:
                self.report(
                    key.pos,
                    f"fallback for undeclared language '{key.text}'{suggest(key.text, languages)}",
                )
                continue
            if target is None:
                continue
            if target not in languages:
                self.report(
                    value.pos,
                    f"fallback to undeclared language '{target}'{suggest(target, languages)}",
                )
                continue
            if target == key.text:
                self.report(value.pos, f"language '{target}' cannot fall back to itself")
                continue
            out[key.text] = target
        for lang in out:
            seen = {lang}
            cur = out.get(lang)
            while cur is not None:
                if cur in seen:
                    key_node = m.key(lang)
                    assert key_node is not None
                    self.report(key_node.pos, f"fallbacks of '{lang}' go round in a circle")
                    break
                seen.add(cur)
                cur = out.get(cur)
        return out

    def timezone(
        self, node: YNode | None, default: zoneinfo.ZoneInfo | None = None
    ) -> zoneinfo.ZoneInfo:
        fallback = default or zoneinfo.ZoneInfo("UTC")
        if node is None:
            return fallback
        name = self.scalar_str(node, "timezone")
        if name is None:
            return fallback
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = suggest(name, sorted(zoneinfo.available_timezones()))
            self.report(node.pos, f"unknown timezone '{name}'{hint}")
            return fallback

    def initial_variables(
        self, entry: tuple[YScalar, YNode] | None, refs: _FlowRefs
    ) -> dict[str, Value]:
        if entry is None:
            return {}
        m = self.mapping(entry[1], "variables")
        if m is None:
            return {}
        out: dict[str, Value] = {}
        for key, value in m:
            name = self.variable(key, "variable name", refs)
            if name is None:
                continue
            if not isinstance(value, YScalar) or value.value is None:
                self.report(
                    value.pos, f"variable '{name}' needs a text, number or true/false value"
                )
                continue
            out[name] = value.value
        return out

    def prompts(
        self, entry: tuple[YScalar, YNode] | None, languages: tuple[str, ...]
    ) -> tuple[dict[str, dict[str, PromptFile]], dict[str, Pos]]:
        out: dict[str, dict[str, PromptFile]] = {}
        where: dict[str, Pos] = {}
        if entry is None:
            return out, where
        m = self.mapping(entry[1], "prompts")
        if m is None:
            return out, where
        for key, value in m:
            pname = key.text
            if not PROMPT_NAME.match(pname):
                self.report(key.pos, f"bad prompt name '{pname}': use letters, digits, _ and -")
                continue
            where[pname] = key.pos
            per = self.mapping(value, f"prompt '{pname}'")
            if per is None:
                out[pname] = {lang: PromptFile(f"pbx/{pname}") for lang in languages}
                continue
            files: dict[str, PromptFile] = {}
            for lkey, lvalue in per:
                if lkey.text not in languages:
                    self.report(
                        lkey.pos,
                        f"prompt '{pname}' has language '{lkey.text}' that is not in languages"
                        f"{suggest(lkey.text, languages)}",
                    )
                    continue
                # A broken entry still counts as present: one mistake, one report.
                pf = self.prompt_file(pname, lkey.text, lvalue)
                files[lkey.text] = pf or PromptFile(f"pbx/{pname}")
            out[pname] = files
        return out, where

    def prompt_file(self, pname: str, lang: str, node: YNode) -> PromptFile | None:
        default_file = f"pbx/{pname}"
        what = f"prompt '{pname}' in '{lang}'"
        if isinstance(node, YScalar):
            said = self.scalar_str(node, what)
            return None if said is None else PromptFile(default_file, said)
        m = self.mapping(node, what)
        if m is None:
            return None
        f = self.fields(m, PROMPT_FILE.names(), what, node.pos)
        file = default_file
        text: str | None = None
        if "file" in f:
            value = f["file"][1]
            given = self.scalar_str(value, "file")
            if given is not None:
                if SOUND_FILE.match(given):
                    file = given
                else:
                    self.report(
                        value.pos,
                        f"bad sound file '{given}': a name below sounds/<lang>/ without extension",
                    )
        if "text" in f:
            text = self.scalar_str(f["text"][1], "text")
        if "file" not in f and "text" not in f:
            self.report(node.pos, f"{what} needs 'file', 'text' or both")
        return PromptFile(file, text)

    # --- nodes ----------------------------------------------------------------------------------

    def node(
        self, name: str, key: YScalar, body: YNode, refs: _FlowRefs, languages: tuple[str, ...]
    ) -> Node | None:
        m = self.mapping(body, f"node '{name}'")
        if m is None:
            return None
        kind_node = m.get("kind")
        if kind_node is None:
            self.report(key.pos, f"node '{name}' is missing required field 'kind'")
            return None
        kind = kind_node.value if isinstance(kind_node, YScalar) else None
        if not isinstance(kind, str) or kind not in NODE_KINDS:
            shown = kind_node.text if isinstance(kind_node, YScalar) else _describe(kind_node)
            self.report(
                kind_node.pos,
                f"unknown node kind '{shown}'{suggest(str(shown), list(NODE_KINDS))}",
            )
            return None
        owner = f"{kind} node '{name}'"
        self._owner = owner
        part = NODE_KINDS[kind]
        # `kind` is required too, and found: a node without one is told above, at its name.
        fields = self.fields(m, part.names(), owner, key.pos, part.required())
        return _BUILDERS[kind](self, _NodeSource(name, key.pos, owner, fields, refs, languages))

    def play(self, n: _NodeSource) -> Node:
        g, refs = n.get, n.refs
        return PlayNode(
            name=n.name,
            prompts=self.prompt_list(g("prompts"), "prompts", refs, required=True),
            barge_in=self.flag(g("barge_in"), "play", "barge_in"),
            next=self.node_ref(g("next"), "next", refs),
        )

    def menu(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        options: dict[str, str] = {}
        if "options" in f:
            om = self.mapping(f["options"][1], "options")
            if om is not None:
                if not om.entries:
                    self.report(om.pos, "options needs at least one key")
                for okey, ovalue in om:
                    if okey.text not in MENU_KEYS:
                        self.report(
                            okey.pos,
                            f"menu key '{okey.text}' must be a single key: 0-9, * or # "
                            "(quote * and #)",
                        )
                        continue
                    options[okey.text] = self.node_ref(ovalue, f"option '{okey.text}'", refs)
        into = self.variable(g("into"), "into", refs) if "into" in f else None
        return MenuNode(
            name=n.name,
            prompts=self.prompt_list(g("prompts"), "prompts", refs, required=True),
            options=frozen_map(options),
            timeout=self.seconds(g("timeout"), "menu", "timeout"),
            max_retries=self.whole(g("max_retries"), "menu", "max_retries"),
            invalid_prompts=self.prompt_list(g("invalid_prompts"), "invalid_prompts", refs, False),
            timeout_prompts=self.prompt_list(g("timeout_prompts"), "timeout_prompts", refs, False),
            barge_in=self.flag(g("barge_in"), "menu", "barge_in"),
            into=into,
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs),
        )

    def collect(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        max_digits = self.whole(g("max_digits"), "collect", "max_digits")
        min_digits = self.whole(g("min_digits"), "collect", "min_digits")
        if min_digits > max_digits and "max_digits" in f:
            self.report(
                f["min_digits"][1].pos,
                f"min_digits ({min_digits}) is above max_digits ({max_digits})",
            )
        terminator: str | None = "#"
        if "terminator" in f:
            tnode = f["terminator"][1]
            if isinstance(tnode, YScalar) and tnode.value in (None, ""):
                terminator = None
            elif isinstance(tnode, YScalar) and tnode.text in ("#", "*"):
                terminator = tnode.text
            else:
                self.report(tnode.pos, "terminator must be '#', '*' or empty for none")
        pattern: re.Pattern[str] | None = None
        if "pattern" in f:
            pnode = f["pattern"][1]
            ptext = self.scalar_str(pnode, "pattern")
            if ptext is not None:
                assert isinstance(pnode, YScalar)
                try:
                    pattern = compile_pattern(ptext)
                except ExprError as exc:
                    self.report(pnode.pos_at(exc.offset), exc.message)
        return CollectNode(
            name=n.name,
            prompts=self.prompt_list(g("prompts"), "prompts", refs, required=True),
            into=(self.variable(g("into"), "into", refs) or "") if "into" in f else "",
            min_digits=min_digits,
            max_digits=max_digits,
            terminator=terminator,
            first_digit_timeout=self.seconds(
                g("first_digit_timeout"), "collect", "first_digit_timeout"),
            inter_digit_timeout=self.seconds(
                g("inter_digit_timeout"), "collect", "inter_digit_timeout"),
            pattern=pattern,
            max_retries=self.whole(g("max_retries"), "collect", "max_retries"),
            invalid_prompts=self.prompt_list(g("invalid_prompts"), "invalid_prompts", refs, False),
            timeout_prompts=self.prompt_list(g("timeout_prompts"), "timeout_prompts", refs, False),
            barge_in=self.flag(g("barge_in"), "collect", "barge_in"),
            next=self.node_ref(g("next"), "next", refs),
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs),
        )

    def schedule(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        tz = self.timezone(g("timezone"), self._flow_tz)
        weekly: list[tuple[TimeRange, ...]] = [() for _ in WEEKDAYS]
        if "weekly" in f:
            wm = self.mapping(f["weekly"][1], "weekly")
            if wm is not None:
                given: dict[int, Pos] = {}
                for dkey, dvalue in wm:
                    days = self.weekdays(dkey)
                    ranges = self.time_ranges(dvalue)
                    for day in days:
                        if day in given:
                            self.report(
                                dkey.pos,
                                f"'{WEEKDAYS[day]}' already has hours (line {given[day].line})",
                            )
                            continue
                        given[day] = dkey.pos
                        weekly[day] = ranges
        exceptions: list[ScheduleException] = []
        if "exceptions" in f:
            enode = f["exceptions"][1]
            if not isinstance(enode, YSeq):
                self.report(enode.pos, f"exceptions must be a list, not {_describe(enode)}")
            else:
                for item in enode.items:
                    exc = self.schedule_exception(item)
                    if exc is not None:
                        exceptions.append(exc)
        return ScheduleNode(
            name=n.name,
            schedule=Schedule(tz, tuple(weekly), tuple(exceptions)),
            open=self.node_ref(g("open"), "open", refs),
            closed=self.node_ref(g("closed"), "closed", refs),
        )

    def weekdays(self, key: YScalar) -> list[int]:
        text = key.text.strip().lower()
        parts = [p.strip() for p in text.split("-")]
        if len(parts) > 2:
            self.report(key.pos, f"bad weekday range '{key.text}': use e.g. mon-fri")
            return []
        idx: list[int] = []
        for part in parts:
            if part not in WEEKDAYS:
                self.report(key.pos, f"unknown weekday '{part}'{suggest(part, WEEKDAYS)}")
                return []
            idx.append(WEEKDAYS.index(part))
        if len(idx) == 1:
            return idx
        first, last = idx
        if last < first:
            self.report(key.pos, f"weekday range '{key.text}' runs backwards")
            return []
        return list(range(first, last + 1))

    def time_ranges(self, node: YNode) -> tuple[TimeRange, ...]:
        items = node.items if isinstance(node, YSeq) else (node,)
        out: list[TimeRange] = []
        for item in items:
            text = self.scalar_str(item, "hours")
            if text is None:
                continue
            assert isinstance(item, YScalar)
            if text.strip().lower() == "closed":
                continue
            mt = TIME_RANGE.match(text)
            if mt is None:
                self.report(item.pos, f"bad hours '{text}': expected HH:MM-HH:MM")
                continue
            h1, m1, h2, m2 = (int(x) for x in mt.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or m1 > 59:
                self.report(item.pos_at(mt.start(1)), f"bad time '{mt.group(1)}:{mt.group(2)}'")
            elif h2 > 24 or m2 > 59 or end > 24 * 60:
                self.report(item.pos_at(mt.start(3)), f"bad time '{mt.group(3)}:{mt.group(4)}'")
            elif end <= start:
                self.report(
                    item.pos, f"hours '{text}' end before they start (split ranges at midnight)"
                )
            else:
                out.append((start, end))
        return tuple(sorted(out))

    def day(self, node: YNode, what: str) -> date | None:
        if isinstance(node, YScalar) and isinstance(node.value, str) and DATE.match(node.value):
            try:
                return date.fromisoformat(node.value)
            except ValueError:
                self.report(node.pos, f"bad date '{node.text}': no such day")
                return None
        self.report(node.pos, f"{what} must be a date YYYY-MM-DD, not '{_text(node)}'")
        return None

    def schedule_exception(self, item: YNode) -> ScheduleException | None:
        m = self.mapping(item, "an exception")
        if m is None:
            return None
        f = self.fields(m, EXCEPTION.names(), "exception", m.pos, required=EXCEPTION.required())
        first = self.day(f["date"][1], "date") if "date" in f else None
        last = self.day(f["until"][1], "until") if "until" in f else first
        name = (self.scalar_str(f["name"][1], "name") or "") if "name" in f else ""
        hours = self.time_ranges(f["hours"][1]) if "hours" in f else ()
        if first is None or last is None:
            return None
        if last < first:
            self.report(f["until"][1].pos, f"until ({last}) is before date ({first})")
            return None
        return ScheduleException(first, last, hours, name)

    def language(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        lang: Template | None = None
        if "language" in f:
            lnode = f["language"][1]
            lang = self.template(lnode, "language", refs)
            if lang is not None and lang.is_literal and str(lang) not in n.languages:
                self.report(
                    lnode.pos,
                    f"language '{lang}' is not in the flow's languages"
                    f"{suggest(str(lang), n.languages)}",
                )
        return LanguageNode(
            name=n.name,
            language=lang or Template(()),
            next=self.node_ref(g("next"), "next", refs),
        )

    def set_(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        assigned: list[tuple[str, Value | Template]] = []
        if "variables" in f:
            vm = self.mapping(f["variables"][1], "variables")
            if vm is not None:
                if not vm.entries:
                    self.report(vm.pos, "variables needs at least one variable")
                for vkey, vvalue in vm:
                    var = self.variable(vkey, "variable name", refs)
                    value = self.value(vvalue, f"value of '{vkey.text}'", refs)
                    if var is not None and value is not None:
                        assigned.append((var, value))
        return SetNode(
            name=n.name,
            variables=tuple(assigned),
            next=self.node_ref(g("next"), "next", refs),
        )

    def value(self, node: YNode, what: str, refs: _FlowRefs) -> Value | Template | None:
        """A literal number or true/false, or a text template."""
        if isinstance(node, YScalar) and isinstance(node.value, bool | int | float):
            return node.value
        if isinstance(node, YScalar) and isinstance(node.value, str):
            tpl = self.template(node, what, refs) if node.value else Template(())
            if tpl is None:
                return None
            return str(tpl) if tpl.is_literal else tpl
        self.report(node.pos, f"{what} must be text, a number or true/false, not {_describe(node)}")
        return None

    def branch(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        cases: list[BranchCase] = []
        if "cases" in f:
            cnode = f["cases"][1]
            if not isinstance(cnode, YSeq) or not cnode.items:
                self.report(cnode.pos, "cases must be a non-empty list of {if: ..., next: ...}")
            else:
                for item in cnode.items:
                    case = self.case(item, refs)
                    if case is not None:
                        cases.append(case)
        return BranchNode(
            name=n.name,
            cases=tuple(cases),
            otherwise=self.node_ref(g("else"), "else", refs),
        )

    def case(self, item: YNode, refs: _FlowRefs) -> BranchCase | None:
        m = self.mapping(item, "a case")
        if m is None:
            return None
        f = self.fields(m, CASE.names(), "case", m.pos, required=CASE.required())
        target = self.node_ref(f["next"][1], "next", refs) if "next" in f else ""
        if "if" not in f:
            return None
        cnode = f["if"][1]
        text = self.scalar_str(cnode, "if", allow_number=False)
        if text is None:
            return None
        assert isinstance(cnode, YScalar)
        try:
            cond = parse_condition(text)
        except ExprError as exc:
            self.report(cnode.pos_at(exc.offset), f"condition: {exc.message}")
            return None
        for var in condition_variables(cond):
            refs.reads.append((var.name, cnode.pos_at(var.offset)))
        return BranchCase(cond, text, target)

    def lookup(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        method: Literal["GET", "POST"] = "GET"
        if "method" in f:
            mnode = f["method"][1]
            if isinstance(mnode, YScalar) and mnode.value in ("GET", "POST"):
                method = cast(Literal["GET", "POST"], mnode.value)
            else:
                shown = mnode.text if isinstance(mnode, YScalar) else _describe(mnode)
                self.report(mnode.pos, f"method must be GET or POST, not '{shown}'")
        url = Template(())
        if "url" in f:
            unode = f["url"][1]
            tpl = self.template(unode, "url", refs)
            if tpl is not None:
                url = tpl
                self.check_url(unode, tpl, n.owner)
        headers: list[tuple[str, Template]] = []
        if "headers" in f:
            hm = self.mapping(f["headers"][1], "headers")
            for hkey, hvalue in hm or ():
                if not HEADER_NAME.match(hkey.text):
                    self.report(hkey.pos, f"{n.owner}: bad header name '{_shown(hkey.text)}'")
                    continue
                htpl = self.template(hvalue, f"header '{hkey.text}'", refs, allow_number=True)
                if htpl is not None and any(
                    isinstance(p, str) and _CONTROL.search(p) for p in htpl.parts
                ):
                    self.report(
                        hvalue.pos,
                        f"{n.owner}: header '{hkey.text}' must be one line without control "
                        "characters",
                    )
                elif htpl is not None:
                    headers.append((hkey.text, htpl))
        body: list[tuple[str, Value | Template]] | None = None
        if "body" in f:
            bnode = f["body"][1]
            if method != "POST":
                self.report(f["body"][0].pos, "body is only sent with method POST")
            bm = self.mapping(bnode, "body")
            body = []
            for bkey, bvalue in bm or ():
                value = self.value(bvalue, f"body field '{bkey.text}'", refs)
                if value is not None:
                    body.append((bkey.text, value))
        into: list[tuple[str, tuple[str | int, ...]]] = []
        if "into" in f:
            im = self.mapping(f["into"][1], "into")
            for ikey, ivalue in im or ():
                var = self.variable(ikey, "variable name", refs)
                path = self.scalar_str(ivalue, f"JSON path of '{ikey.text}'")
                if path is not None and not JSON_PATH.match(path):
                    self.report(
                        ivalue.pos, f"bad JSON path '{path}': use e.g. customer.tier or items.0.id"
                    )
                    path = None
                if var is not None and path is not None:
                    into.append((var, tuple(int(p) if p.isdigit() else p for p in path.split("."))))
        return LookupNode(
            name=n.name,
            method=method,
            url=url,
            headers=tuple(headers),
            body=None if body is None else tuple(body),
            timeout=self.seconds(g("timeout"), "lookup", "timeout"),
            into=tuple(into),
            next=self.node_ref(g("next"), "next", refs),
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs),
        )

    def check_url(self, node: YNode, tpl: Template, owner: str) -> None:
        literal_text = "".join(p for p in tpl.parts if isinstance(p, str))
        if _CONTROL.search(literal_text) or " " in literal_text or "\\" in literal_text:
            # A line break would end the request line (header injection); a space or a
            # backslash is read differently by different url parsers.
            self.report(
                node.pos,
                f"{owner}: url must not contain spaces, backslashes, line breaks or control "
                "characters",
            )
            return
        skeleton = "".join(p if isinstance(p, str) else "\x00" for p in tpl.parts)
        try:
            parts = urlsplit(skeleton)
            host = parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            self.report(node.pos, f"{owner}: url does not name a valid host")
            return
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.report(node.pos, "url must start with http:// or https:// and name a host")
        elif "\x00" in parts.netloc:
            self.report(node.pos, "the host of a lookup url must not contain variables")
        elif not host:
            self.report(node.pos, f"{owner}: url does not name a host")
        elif not self.internal_lookups and (why := internal_host(host)) is not None:
            self.report(
                node.pos,
                f"{owner}: url: {why}; lookups reach only public addresses unless the "
                "operator lists the tenant in [ivr] internal_lookups",
            )

    def queue(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        qname = Template(())
        if "queue" in f:
            qname = self.template(f["queue"][1], "queue", refs) or qname
        priority: int | Template = 0
        if "priority" in f:
            priority = self.level(f["priority"][1], "priority", refs)
        skills: list[tuple[Template, int | Template]] = []
        if "skills" in f:
            sm = self.mapping(f["skills"][1], "skills")
            for skey, svalue in sm or ():
                stpl = self.template(skey, "skill name", refs)
                level = self.level(svalue, f"level of skill '{skey.text}'", refs)
                if stpl is not None:
                    skills.append((stpl, level))
        max_wait = (
            self.seconds(g("max_wait"), "queue", "max_wait") if "max_wait" in f else None
        )
        return QueueNode(
            name=n.name,
            queue=qname,
            priority=priority,
            skills=tuple(skills),
            max_wait=max_wait or None,
            next=self.node_ref(g("next"), "next", refs) if "next" in f else None,
        )

    def level(self, node: YNode, what: str, refs: _FlowRefs) -> int | Template:
        """A whole number >= 0, or a template giving one when the call runs."""
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            if node.value < 0:
                self.report(node.pos, f"{what} must be 0 or more, not {node.value}")
                return 0
            return node.value
        if isinstance(node, YScalar) and isinstance(node.value, str):
            tpl = self.template(node, what, refs)
            if tpl is not None and tpl.is_literal:
                self.report(node.pos, f"{what} must be a whole number or a ${{variable}}")
                return 0
            return tpl or 0
        self.report(
            node.pos, f"{what} must be a whole number or a ${{variable}}, not {_describe(node)}"
        )
        return 0

    def callback(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        qname = Template(())
        if "queue" in f:
            qname = self.template(f["queue"][1], "queue", refs) or qname
        nxt = self.node_ref(g("next"), "next", refs)
        return CallbackNode(
            name=n.name,
            queue=qname,
            delay=self.seconds(g("delay"), "callback", "delay"),
            next=nxt,
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs)
            if "on_failure" in f
            else nxt,
        )

    def transfer(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        given = [k for k in TRANSFER_TARGETS if k in f]
        if not given:
            self.report(n.pos, f"{n.owner} needs one of 'agent', 'number' or 'flow'")
        for extra in given[1:]:
            self.report(f[extra][0].pos, f"{n.owner} takes only one of 'agent', 'number' or 'flow'")
        to: Literal["agent", "number", "flow"] = "number"
        if given:
            to = "agent" if given[0] == "agent" else "flow" if given[0] == "flow" else "number"
        target = Template(())
        if given:
            tnode = f[to][1]
            if to == "flow":
                fname = self.name(tnode, "flow name")
                if fname is not None:
                    self._flow_refs.append((fname, tnode.pos))
                    target = Template((fname,))
            else:
                tpl = self.template(tnode, to, refs, allow_number=True)
                if tpl is not None:
                    target = tpl
                    if to == "number" and tpl.is_literal and not DIAL_NUMBER.match(str(tpl)):
                        self.report(
                            tnode.pos,
                            f"bad number '{tpl}': digits, * and # with an optional leading +",
                        )
        return TransferNode(
            name=n.name,
            to=to,
            target=target,
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs)
            if "on_failure" in f
            else None,
        )

    def voicemail(self, n: _NodeSource) -> Node:
        f, g, refs = n.fields, n.get, n.refs
        boxes = [k for k in MAILBOXES if k in f]
        for extra in boxes[1:]:
            self.report(
                f[extra][0].pos, f"{n.owner} takes a 'queue' or an 'agent' mailbox, not both"
            )
        kind: Literal["queue", "agent"] | None = None
        mailbox: Template | None = None
        if boxes:
            kind = "queue" if boxes[0] == "queue" else "agent"
            mailbox = self.template(f[kind][1], kind, refs, allow_number=True)
        nxt = self.node_ref(g("next"), "next", refs)
        return VoicemailNode(
            name=n.name,
            prompts=self.prompt_list(g("prompts"), "prompts", refs, required=False),
            mailbox_kind=kind,
            mailbox=mailbox,
            max_seconds=self.seconds(g("max_seconds"), "voicemail", "max_seconds"),
            max_silence=self.seconds(g("max_silence"), "voicemail", "max_silence"),
            beep=self.flag(g("beep"), "voicemail", "beep"),
            next=nxt,
            on_failure=self.node_ref(g("on_failure"), "on_failure", refs)
            if "on_failure" in f
            else nxt,
        )

    def hangup(self, n: _NodeSource) -> Node:
        f = n.fields
        cause = "normal"
        if "cause" in f:
            cnode = f["cause"][1]
            text = cnode.text if isinstance(cnode, YScalar) else ""
            if text in HANGUP_CAUSES:
                cause = text
            else:
                self.report(
                    cnode.pos, f"unknown hangup cause '{text}'{suggest(text, HANGUP_CAUSES)}"
                )
        return HangupNode(name=n.name, cause=cause)

    # --- whole sets -----------------------------------------------------------------------------

    def read(self, sources: Sequence[Source]) -> FlowSet | None:
        drafts: dict[str, _FlowDraft] = {}
        total = 0
        for file, text in sources:
            total += len(text)
            if total > MAX_FLOWSET_CHARS:
                # Each file is bounded by parse_yaml; a tenant's many files are bounded here.
                self.report(
                    Pos(file, 1, 1),
                    f"the flow files add up to over {MAX_FLOWSET_CHARS} characters; "
                    "this file is not read",
                )
                continue
            tree, problems = parse_yaml(file, text)
            for p in problems:
                self.report(p.pos, p.message)
            if tree is None:
                continue
            root = self.mapping(tree, "a flow file")
            if root is None:
                continue
            f = self.fields(
                root, ROOT.names(), "the file", Pos(file, 1, 1), required=ROOT.required()
            )
            if "flows" not in f:
                continue
            fm = self.mapping(f["flows"][1], "flows")
            for fkey, fbody in fm or ():
                fname = self.name(fkey, "flow name")
                if fname is None:
                    continue
                if fname in drafts:
                    self.report(
                        fkey.pos, f"flow '{fname}' is already defined at {drafts[fname].pos}"
                    )
                    continue
                self._flow_tz = None
                if isinstance(fbody, YMap) and isinstance(fbody.get("timezone"), YScalar):
                    # Schedules default to the flow's timezone; read it quietly first.
                    tz_node = fbody.get("timezone")
                    assert isinstance(tz_node, YScalar)
                    try:
                        self._flow_tz = zoneinfo.ZoneInfo(str(tz_node.value))
                    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                        self._flow_tz = None
                draft = self.flow(fname, fkey, fbody)
                if draft is not None:
                    drafts[fname] = draft
        for draft in drafts.values():
            self.cross_check(draft)
        did_map: dict[str, str] = {}
        did_pos: dict[str, Pos] = {}
        for did, pos, fname in self._dids:
            if did in did_map:
                self.report(
                    pos, f"DID '{did}' is already used by flow '{did_map[did]}' at {did_pos[did]}"
                )
                continue
            did_map[did] = fname
            did_pos[did] = pos
        for fname, pos in self._flow_refs:
            if fname not in drafts:
                self.report(pos, f"unknown flow '{fname}'{suggest(fname, list(drafts))}")
        if not drafts and not self.has_errors():
            self.report(Pos(sources[0][0] if sources else "<none>", 1, 1), "no flows defined")
        if self.has_errors():
            return None
        return FlowSet(
            flows=frozen_map({n: d.flow for n, d in drafts.items()}),
            dids=frozen_map(did_map),
            sources=tuple(sources),
        )

    def cross_check(self, d: _FlowDraft) -> None:
        flow, refs = d.flow, d.refs
        known_nodes = set(d.node_pos)
        for target, pos in refs.nodes:
            if target not in known_nodes:
                self.report(
                    pos,
                    f"'{target}' is not a node of flow '{d.name}'"
                    f"{suggest(target, sorted(known_nodes))}",
                )
        for pname, pos in refs.prompts:
            if pname not in flow.prompts:
                self.report(pos, f"unknown prompt '{pname}'{suggest(pname, sorted(flow.prompts))}")
        for pname in flow.prompts:
            for lang in flow.languages:
                if flow.resolve_prompt(pname, lang) is None:
                    self.report(
                        d.prompt_pos[pname],
                        f"prompt '{pname}' has no '{lang}' version and '{lang}' has no fallback "
                        "that has one",
                    )
        for lang, pos in refs.languages:
            if lang not in flow.languages:
                self.report(
                    pos,
                    f"language '{lang}' is not in the flow's languages"
                    f"{suggest(lang, flow.languages)}",
                )
        written = {name for name, _ in refs.writes}
        for name, pos in refs.writes:
            if name in BUILTIN_VARIABLES:
                self.report(pos, f"'{name}' is a built-in variable and cannot be set")
        known_vars = written | set(BUILTIN_VARIABLES) | set(flow.variables)
        for name, pos in refs.reads:
            if name not in known_vars:
                self.report(pos, f"unknown variable '{name}'{suggest(name, sorted(known_vars))}")
        # Unreachable nodes are a warning, and only of a flow with no error: a broken `next` or
        # a misspelt target would cut off every node after it, and the cause is already told.
        if flow.entry and flow.entry in known_nodes and not self.has_errors():
            seen = {flow.entry}
            todo = [flow.entry]
            while todo:
                cur = todo.pop()
                node = flow.nodes.get(cur)
                nexts: Iterable[str] = (
                    node.targets() if node is not None else d.loose_edges.get(cur, ())
                )
                for nxt in nexts:
                    if nxt in known_nodes and nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            for nname, pos in d.node_pos.items():
                if nname not in seen:
                    self.report(pos, f"node '{nname}' cannot be reached from entry "
                                f"'{flow.entry}'", warning=True)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(text: str, most: int = 60) -> str:
    """A value quoted in a message: one line, not too long."""
    flat = _CONTROL.sub("?", text)
    return flat if len(flat) <= most else flat[: most - 3] + "..."


def _text(node: YNode) -> str:
    return node.text if isinstance(node, YScalar) else _describe(node)


def _strings(node: YNode) -> set[str]:
    if isinstance(node, YScalar):
        return {node.value} if isinstance(node.value, str) else set()
    if isinstance(node, YSeq):
        return set().union(*(_strings(i) for i in node.items)) if node.items else set()
    return set().union(*(_strings(v) for _, v in node)) if node.entries else set()


_Builder = Callable[[_Checker, _NodeSource], Node]
_BUILDERS: dict[str, _Builder] = {
    "play": _Checker.play,
    "menu": _Checker.menu,
    "collect": _Checker.collect,
    "schedule": _Checker.schedule,
    "language": _Checker.language,
    "set": _Checker.set_,
    "branch": _Checker.branch,
    "lookup": _Checker.lookup,
    "queue": _Checker.queue,
    "callback": _Checker.callback,
    "transfer": _Checker.transfer,
    "voicemail": _Checker.voicemail,
    "hangup": _Checker.hangup,
}


def check_sources(
    sources: Sequence[Source], *, internal_lookups: bool = False
) -> tuple[FlowSet | None, list[Problem]]:
    """Read (file name, text) pairs; the FlowSet when they are valid, and every problem, sorted.

    `internal_lookups`: the tenant may look up internal addresses (ivr/addresses.py).
    """
    checker = _Checker(internal_lookups)
    flowset = checker.read(sources)
    return flowset, sorted(checker.problems)


def load_flowset(sources: Sequence[Source], *, internal_lookups: bool = False) -> FlowSet:
    """A FlowSet from (file name, text) pairs (warnings aside), or FlowSetInvalid listing every
    mistake."""
    flowset, problems = check_sources(sources, internal_lookups=internal_lookups)
    if flowset is None:
        raise FlowSetInvalid(problems)
    return flowset


def read_sources(paths: Sequence[str | Path]) -> list[Source]:
    """The text of each file; FlowSetInvalid for files that cannot be read."""
    out: list[Source] = []
    problems: list[Problem] = []
    # A character is at most 4 bytes of UTF-8: reading one byte more than that tells a file too
    # long for parse_yaml without reading all of a huge one.
    most = MAX_FLOW_CHARS * 4
    for path in paths:
        try:
            with Path(path).open("rb") as stream:
                raw = stream.read(most + 1)
            if len(raw) > most:
                problems.append(
                    Problem(
                        Pos(str(path), 1, 1),
                        f"the file is over {most} bytes; a flow file holds at most "
                        f"{MAX_FLOW_CHARS} characters",
                    )
                )
                continue
            # Universal newlines, as Path.read_text reads them.
            text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            out.append((str(path), text))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append(Problem(Pos(str(path), 1, 1), f"cannot read the file: {reason}"))
    if problems:
        raise FlowSetInvalid(problems)
    return out


def load_flowset_files(paths: Sequence[str | Path]) -> FlowSet:
    """A FlowSet from flow files on disk, or FlowSetInvalid listing every mistake."""
    return load_flowset(read_sources(paths))
