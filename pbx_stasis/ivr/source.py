"""YAML read into a tree that remembers the line and column of every key and value.

Scalars resolve with the YAML 1.2 core schema (what editors' YAML language servers use), not
PyYAML's YAML 1.1 default: `no` stays a string (Norwegian), `09:30` stays a string (not 570 by
base-60 arithmetic) and `2026-12-25` stays a string that the flow loader parses as a date itself.
The raw text of every scalar is kept too, so a DID such as `0445550100` keeps its leading zero.

Flow files come from tenants' admins over the web, so reading one is bounded: its length, how
deep it nests and how far its aliases expand (a 250-byte "billion laughs" file would otherwise
expand to millions of values), and control characters are refused; each refusal is one problem
at the line and column where it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import yaml

from pbx_stasis.ivr.errors import Pos, Problem

ScalarValue = str | int | float | bool | None

# Generous for a hand-written flow file (the example with every node kind is ~10 KB); the web
# editor takes the same length.
MAX_FLOW_CHARS = 200_000
# Mappings and lists inside each other; a flow is about ten deep (flows, flow, nodes, node,
# cases, case...). Also keeps the recursive readers far from Python's recursion limit.
MAX_DEPTH = 50
# Values that aliases may add to a file, beyond those written out: room for anchors shared
# between nodes, not for exponential expansion.
MAX_ALIAS_VALUES = 10_000
# Characters refused in a flow file: C0 and C1 controls but tab, line feed and carriage return,
# DEL, lone surrogates and the non-characters YAML refuses. In a value (where they can only come
# from a double-quoted escape such as "\0" or "\r\n") a carriage return is refused too.
_FORBIDDEN_IN_FILE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class YScalar:
    """A scalar with its resolved value, its text as written and where it starts."""

    value: ScalarValue
    text: str
    pos: Pos
    style: str | None  # None (plain), "'" or '"' (quoted), "|" or ">" (block)
    single_line: bool

    def pos_at(self, offset: int) -> Pos:
        """Where character `offset` of the scalar's text sits in the file, when that is knowable.

        Exact for plain and quoted scalars on one line without escapes, else the scalar's start.
        """
        if not self.single_line or self.style in ("|", ">"):
            return self.pos
        shift = 1 if self.style in ("'", '"') else 0
        return Pos(self.pos.file, self.pos.line, self.pos.column + shift + offset)


@dataclass(frozen=True)
class YSeq:
    """A sequence and where it starts."""

    items: tuple[YNode, ...]
    pos: Pos


@dataclass(frozen=True)
class YMap:
    """A mapping whose keys are scalars, in file order, and where it starts."""

    entries: tuple[tuple[YScalar, YNode], ...]
    pos: Pos

    def get(self, key: str) -> YNode | None:
        for k, v in self.entries:
            if k.value == key:
                return v
        return None

    def key(self, key: str) -> YScalar | None:
        for k, _ in self.entries:
            if k.value == key:
                return k
        return None

    def __iter__(self) -> Iterator[tuple[YScalar, YNode]]:
        return iter(self.entries)


YNode = YScalar | YSeq | YMap

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"


class _Refused(yaml.composer.ComposerError):
    """A YAML file beyond the bounds of a flow file (depth, alias expansion)."""


class _BoundedComposer(yaml.composer.Composer):
    """PyYAML's composer building a tree no deeper than MAX_DEPTH whose aliases add at most
    MAX_ALIAS_VALUES values, from the events of whichever parser comes after it."""

    if TYPE_CHECKING:  # given by the parser that comes after it

        def check_event(self, *choices: Any) -> bool: ...
        def peek_event(self) -> Any: ...
        def dispose(self) -> None: ...

    def start_bounds(self) -> None:
        self._depth = 0
        self._alias_values = 0
        # Per composed node (by id): how many values it spans and how deep it nests, both
        # counted through aliases, so an alias costs what it expands to without expanding it.
        self._size: dict[int, tuple[int, int]] = {}

    def _next_mark(self) -> yaml.Mark:
        return cast("yaml.Mark", self.peek_event().start_mark)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self._next_mark()
            node = super().compose_node(parent, index)
            # An alias inside its own anchor is not sized yet: the builder reports it.
            values, depth = self._size.get(id(node), (1, 1))
            self._alias_values += values
            if self._alias_values > MAX_ALIAS_VALUES:
                raise _Refused(
                    None,
                    None,
                    f"YAML aliases expand to more than {MAX_ALIAS_VALUES} values: "
                    "write the values out or use fewer aliases",
                    mark,
                )
            if self._depth + depth > MAX_DEPTH:
                raise _Refused(
                    None, None, f"nested more than {MAX_DEPTH} levels deep (through an alias)", mark
                )
            return node
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep",
                self._next_mark(),
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        sizes = [self._size.get(id(child), (1, 1)) for child in children]
        self._size[id(node)] = (
            1 + sum(v for v, _ in sizes),
            1 + max((d for _, d in sizes), default=0),
        )
        return node


class _Core12Loader(_BoundedComposer, yaml.SafeLoader):
    """The bounded composer over PyYAML's pure-Python reader, scanner and parser, with the
    implicit types of the YAML 1.2 core schema."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.start_bounds()


_LOADERS: list[type[_Core12Loader]] = [_Core12Loader]
if yaml.__with_libyaml__:  # PyYAML's wheels include libyaml; a build without it reads slower
    from yaml._yaml import CParser

    class _FastCore12Loader(
        _BoundedComposer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """The same over libyaml's scanner and parser: reading a flow file near MAX_FLOW_CHARS
        takes half the time (the composer and the tree stay in Python)."""

        yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.start_bounds()

    _LOADERS.append(cast("type[_Core12Loader]", _FastCore12Loader))  # same interface


for _loader in _LOADERS:
    _loader.add_implicit_resolver(
        _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    _loader.add_implicit_resolver(
        _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    _loader.add_implicit_resolver(
        _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
    )
    _loader.add_implicit_resolver(
        _FLOAT,
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    )

_Loader = _LOADERS[-1]


def _scalar_value(tag: str, text: str) -> ScalarValue:
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() == "true"
    if tag == _INT:
        base, digits = {"0o": (8, text[2:]), "0x": (16, text[2:])}.get(text[:2], (10, text))
        try:
            return int(digits, base)
        except ValueError:  # beyond Python's int-from-text limit: the validator says "number"
            return text
    if tag == _FLOAT:
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(text)
    return text


def _pos(file: str, mark: yaml.Mark) -> Pos:
    return Pos(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._active: set[int] = set()

    def build(self, node: yaml.Node) -> YNode:
        pos = _pos(self.file, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            tag = node.tag if node.tag in (_NULL, _BOOL, _INT, _FLOAT) else _STR
            scalar = YScalar(
                value=_scalar_value(tag, node.value),
                text=node.value,
                pos=pos,
                style=node.style,
                single_line=node.start_mark.line == node.end_mark.line,
            )
            bad = _FORBIDDEN_IN_VALUE.search(node.value)
            if bad is None:
                return scalar
            # Written as an escape: refused like the raw character, so no value (a URL, a
            # header, a sound name) ever carries one. Escapes shift columns: point at the value.
            self.problems.append(
                Problem(
                    pos, f"control character {_character(bad.group())} is not allowed in a value"
                )
            )
            return YScalar(None, "", pos, None, True)
        if id(node) in self._active:
            # An alias inside its own anchor would make an endless tree.
            self.problems.append(Problem(pos, "recursive YAML alias"))
            return YScalar(None, "", pos, None, True)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return YSeq(tuple(self.build(item) for item in node.value), pos)
            assert isinstance(node, yaml.MappingNode)
            entries: list[tuple[YScalar, YNode]] = []
            seen: dict[object, Pos] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node)
                value = self.build(value_node)
                if not isinstance(key, YScalar):
                    self.problems.append(Problem(key.pos, "a mapping key must be a plain value"))
                    continue
                marker = (type(key.value), key.value)
                if marker in seen:
                    self.problems.append(
                        Problem(
                            key.pos,
                            f"duplicate key '{key.text}' (first at line {seen[marker].line})",
                        )
                    )
                    continue
                seen[marker] = key.pos
                entries.append((key, value))
            return YMap(tuple(entries), pos)
        finally:
            self._active.discard(id(node))


def _pos_of_offset(file: str, text: str, offset: int) -> Pos:
    line_start = text.rfind("\n", 0, offset) + 1
    return Pos(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _character(ch: str) -> str:
    names = {"\x00": "NUL", "\x1b": "escape", "\r": "carriage return", "\x7f": "DEL"}
    return f"U+{ord(ch):04X}" + (f" ({names[ch]})" if ch in names else "")


def parse_yaml(file: str, text: str) -> tuple[YNode | None, list[Problem]]:
    """Read one YAML document; return its tree (None when unreadable) and the problems met."""
    if len(text) > MAX_FLOW_CHARS:
        return None, [
            Problem(
                Pos(file, 1, 1),
                f"the file is {len(text)} characters long; a flow file holds at most "
                f"{MAX_FLOW_CHARS}",
            )
        ]
    bad = _FORBIDDEN_IN_FILE.search(text)
    if bad is not None:
        return None, [
            Problem(
                _pos_of_offset(file, text, bad.start()),
                f"control character {_character(bad.group())} is not allowed in a flow file",
            )
        ]
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except _Refused as exc:
            assert exc.problem_mark is not None and exc.problem is not None
            return None, [Problem(_pos(file, exc.problem_mark), exc.problem)]
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if exc.context and exc.context.startswith("while scanning") and exc.context_mark:
                # The scanner notices a key without its ':' (or an unclosed quote) only at the
                # next token, often on the next line; the token it was reading is the mistake.
                mark = exc.context_mark
            pos = _pos(file, mark) if mark is not None else Pos(file, 1, 1)
            message = exc.problem or exc.context or "unreadable YAML"
            if exc.problem and exc.context and exc.problem.startswith("but "):
                # "expected a single document in the stream" + "but found another document"
                message = f"{exc.context} {exc.problem}"
            return None, [Problem(pos, f"YAML syntax: {message}")]
        except yaml.YAMLError as exc:
            return None, [Problem(Pos(file, 1, 1), f"YAML syntax: {exc}")]
    finally:
        loader.dispose()
    if node is None:
        return None, [Problem(Pos(file, 1, 1), "the file is empty")]
    builder = _Builder(file)
    tree = builder.build(node)
    return tree, builder.problems
