"""The condition language of `branch` nodes and the `${var}` templates of IVR flows.

Both are parsed once, when a flow is loaded, into small immutable trees; nothing is ever passed to
`eval`. Errors carry the character offset where they were found so the loader can point at the
exact column of the YAML file.

Values are strings, integers, floats and booleans. Comparison rule: when both sides look like
numbers (`42`, `-3.5`, or a string such as "0042") they compare as numbers, otherwise as text
(booleans read `true` / `false`). A value is false when it is `false`, `0`, "" , "0" or "false".
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Value = str | int | float | bool
Env = Callable[[str], Value]

VARIABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
KEYWORDS = frozenset({"and", "or", "not", "in", "matches", "true", "false"})
# Bounds on what a flow file may ask the parsers to do. A real condition is a line or two and
# nests two or three levels; the bounds keep the recursive-descent parser (and re.compile, also
# recursive) far from Python's recursion limit.
MAX_CONDITION_CHARS = 2000
MAX_CONDITION_DEPTH = 32  # parentheses and `not`s inside each other
MAX_PATTERN_CHARS = 300


class ExprError(Exception):
    """A syntax mistake in a condition or template, at character `offset`."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# --- values -------------------------------------------------------------------------------------

_NUMBER_TEXT = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*\Z")


def as_text(value: Value) -> str:
    """The text of a value as templates and text comparisons see it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def as_number(value: Value) -> float | None:
    """The value as a number, or None when it does not look like one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if _NUMBER_TEXT.match(value):
        return float(value)
    return None


def is_true(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return value.strip().lower() not in ("", "0", "false")


def values_equal(left: Value, right: Value) -> bool:
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return a == b
    return as_text(left) == as_text(right)


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VarRef:
    """`${name}` inside a template; `offset` is where the name starts in the source text."""

    name: str
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Template:
    """Text with `${var}` holes; `$$` stands for a literal `$`."""

    parts: tuple[str | VarRef, ...]

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def variables(self) -> tuple[VarRef, ...]:
        return tuple(p for p in self.parts if isinstance(p, VarRef))

    def render(self, env: Env, escape: Callable[[str], str] | None = None) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                text = as_text(env(part.name))
                out.append(escape(text) if escape is not None else text)
        return "".join(out)

    def __str__(self) -> str:
        return "".join(
            p.replace("$", "$$") if isinstance(p, str) else "${" + p.name + "}" for p in self.parts
        )


def literal(text: str) -> Template:
    return Template((text,) if text else ())


def parse_template(text: str) -> Template:
    parts: list[str | VarRef] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$" and text.startswith("$$", i):
            buf.append("$")
            i += 2
            continue
        if ch == "$" and text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                raise ExprError("'${' without a closing '}'", i)
            name = text[i + 2 : end]
            if not VARIABLE_NAME.match(name):
                raise ExprError(
                    f"bad variable name '{name}': use lowercase letters, digits and _", i + 2
                )
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(VarRef(name, i + 2))
            i = end + 1
            continue
        buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return Template(tuple(parts))


def compile_pattern(text: str) -> re.Pattern[str]:
    """A regular expression of a flow (`matches`, a collect node's `pattern`), or ExprError at
    the offset of the mistake in `text`."""
    if len(text) > MAX_PATTERN_CHARS:
        raise ExprError(
            f"regular expression of {len(text)} characters: at most {MAX_PATTERN_CHARS}",
            MAX_PATTERN_CHARS,
        )
    try:
        return re.compile(text)
    except re.error as exc:
        raise ExprError(f"bad regular expression: {exc.msg}", exc.pos or 0) from None


# --- conditions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Value

    def eval(self, env: Env) -> Value:
        return self.value


@dataclass(frozen=True)
class Var:
    name: str
    offset: int = field(default=0, compare=False)

    def eval(self, env: Env) -> Value:
        return env(self.name)


@dataclass(frozen=True)
class ListOf:
    items: tuple[Literal, ...]


Operand = Literal | Var


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: Operand
    right: Operand

    def eval(self, env: Env) -> bool:
        a, b = self.left.eval(env), self.right.eval(env)
        if self.op == "==":
            return values_equal(a, b)
        if self.op == "!=":
            return not values_equal(a, b)
        na, nb = as_number(a), as_number(b)
        if na is not None and nb is not None:
            x: float | str = na
            y: float | str = nb
        else:
            x, y = as_text(a), as_text(b)
        if self.op == "<":
            return x < y  # type: ignore[operator]
        if self.op == "<=":
            return x <= y  # type: ignore[operator]
        if self.op == ">":
            return x > y  # type: ignore[operator]
        return x >= y  # type: ignore[operator]


@dataclass(frozen=True)
class Contains:
    """`left in [..]` (membership) or `left in var` (substring); `negated` for `not in`."""

    left: Operand
    right: ListOf | Operand
    negated: bool = False

    def eval(self, env: Env) -> bool:
        value = self.left.eval(env)
        if isinstance(self.right, ListOf):
            found = any(values_equal(value, item.value) for item in self.right.items)
        else:
            found = as_text(value) in as_text(self.right.eval(env))
        return found != self.negated


@dataclass(frozen=True)
class Matches:
    """`left matches "regex"`: re.search, so anchor with ^ and $ for a whole match."""

    left: Operand
    pattern: re.Pattern[str]

    def eval(self, env: Env) -> bool:
        return self.pattern.search(as_text(self.left.eval(env))) is not None


@dataclass(frozen=True)
class Truthy:
    operand: Operand

    def eval(self, env: Env) -> bool:
        return is_true(self.operand.eval(env))


@dataclass(frozen=True)
class Not:
    item: Condition

    def eval(self, env: Env) -> bool:
        return not self.item.eval(env)


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]

    def eval(self, env: Env) -> bool:
        return all(item.eval(env) for item in self.items)


@dataclass(frozen=True)
class Any_:
    items: tuple[Condition, ...]

    def eval(self, env: Env) -> bool:
        return any(item.eval(env) for item in self.items)


Condition = Compare | Contains | Matches | Truthy | Not | All | Any_


def condition_variables(cond: Condition) -> list[Var]:
    """Every variable a condition reads, in source order."""
    found: list[Var] = []

    def operand(op: Operand | ListOf) -> None:
        if isinstance(op, Var):
            found.append(op)

    def walk(c: Condition) -> None:
        if isinstance(c, Compare):
            operand(c.left)
            operand(c.right)
        elif isinstance(c, Contains):
            operand(c.left)
            operand(c.right)
        elif isinstance(c, Matches | Truthy):
            operand(c.left if isinstance(c, Matches) else c.operand)
        elif isinstance(c, Not):
            walk(c.item)
        else:
            for item in c.items:
                walk(item)

    walk(cond)
    return found


@dataclass(frozen=True)
class _Token:
    kind: str  # str, num, name, op, end, or the punctuation itself
    text: str
    value: Value
    offset: int


_OPS = ("==", "!=", "<=", ">=", "<", ">")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            j = i + 1
            buf: list[str] = []
            while j < len(text) and text[j] != ch:
                if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in (ch, "\\"):
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= len(text):
                raise ExprError("string without its closing quote", i)
            out.append(_Token("str", text[i : j + 1], "".join(buf), i))
            i = j + 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is not None:
            out.append(_Token("op", op, op, i))
            i += len(op)
            continue
        if ch in "()[],":
            out.append(_Token(ch, ch, ch, i))
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            raw = m.group()
            out.append(_Token("num", raw, float(raw) if "." in raw else int(raw), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(_Token("name", m.group(), m.group(), i))
            i = m.end()
            continue
        if ch == "=":
            raise ExprError("'=' is not an operator: write '==' to compare", i)
        raise ExprError(f"unexpected character '{ch}'", i)
    out.append(_Token("end", "", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_CONDITION_CHARS:
            raise ExprError(
                f"condition of {len(text)} characters: at most {MAX_CONDITION_CHARS}",
                MAX_CONDITION_CHARS,
            )
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def deeper(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_CONDITION_DEPTH:
            raise ExprError(
                f"the condition nests more than {MAX_CONDITION_DEPTH} levels of "
                "parentheses and 'not'",
                tok.offset,
            )

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def take(self) -> _Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def parse(self) -> Condition:
        if self.tok.kind == "end":
            raise ExprError("empty condition", 0)
        cond = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected '{self.tok.text}'", self.tok.offset)
        return cond

    def or_(self) -> Condition:
        items = [self.and_()]
        while self.is_word("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Any_(tuple(items))

    def and_(self) -> Condition:
        items = [self.not_()]
        while self.is_word("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else All(tuple(items))

    def not_(self) -> Condition:
        if self.is_word("not"):
            self.deeper(self.take())
            item = self.not_()
            self.depth -= 1
            return Not(item)
        return self.comparison()

    def comparison(self) -> Condition:
        if self.tok.kind == "(":
            opening = self.take()
            self.deeper(opening)
            inner = self.or_()
            if self.tok.kind != ")":
                raise ExprError("'(' without its ')'", opening.offset)
            self.take()
            self.depth -= 1
            return inner
        left = self.operand()
        if self.tok.kind == "op":
            op = self.take().text
            return Compare(op, left, self.operand())
        if self.is_word("not") and self.toks[self.i + 1].text == "in":
            self.i += 2
            return Contains(left, self.container(), negated=True)
        if self.is_word("in"):
            self.take()
            return Contains(left, self.container())
        if self.is_word("matches"):
            self.take()
            tok = self.tok
            if tok.kind != "str":
                raise ExprError("'matches' needs a quoted regular expression", tok.offset)
            self.take()
            assert isinstance(tok.value, str)
            try:
                pattern = compile_pattern(tok.value)
            except ExprError as exc:
                # +1 skips the opening quote; exc.offset counts in the unescaped pattern.
                raise ExprError(exc.message, tok.offset + 1 + exc.offset) from None
            return Matches(left, pattern)
        return Truthy(left)

    def container(self) -> ListOf | Operand:
        if self.tok.kind != "[":
            return self.operand()
        self.take()
        items: list[Literal] = []
        while self.tok.kind != "]":
            op = self.operand()
            if not isinstance(op, Literal):
                raise ExprError(
                    "a list holds only quoted strings, numbers, true or false", op.offset
                )
            items.append(op)
            if self.tok.kind == ",":
                self.take()
            elif self.tok.kind != "]":
                raise ExprError("expected ',' or ']'", self.tok.offset)
        self.take()
        return ListOf(tuple(items))

    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind in ("str", "num"):
            self.take()
            return Literal(tok.value)
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                self.take()
                return Literal(tok.text == "true")
            if tok.text in KEYWORDS:
                raise ExprError(f"expected a value before '{tok.text}'", tok.offset)
            if not VARIABLE_NAME.match(tok.text):
                raise ExprError(
                    f"bad variable name '{tok.text}': use lowercase letters, digits and _",
                    tok.offset,
                )
            self.take()
            return Var(tok.text, tok.offset)
        if tok.kind == "end":
            raise ExprError("the condition ends too early", tok.offset)
        raise ExprError(f"expected a value, found '{tok.text}'", tok.offset)


def parse_condition(text: str) -> Condition:
    """Parse a condition such as `tier == "gold" and caller matches "^\\+9715"`."""
    return _Parser(text).parse()


def suggest(word: str, choices: Sequence[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
