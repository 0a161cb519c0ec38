"""The condition language and ${var} templates: parsing, evaluation and error offsets."""

from __future__ import annotations

import pytest

from pbx_stasis.ivr.expr import (
    ExprError,
    Template,
    Value,
    VarRef,
    as_text,
    condition_variables,
    is_true,
    parse_condition,
    parse_template,
)

ENV: dict[str, Value] = {
    "tier": "gold",
    "balance": "1250.50",
    "count": 3,
    "flag": True,
    "empty": "",
    "zero": "0",
    "caller": "+971501234567",
    "time": "09:30",
    "weekday": "sat",
}


def _env(name: str) -> Value:
    return ENV.get(name, "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('tier == "gold"', True),
        ("tier == 'gold'", True),
        ('tier != "gold"', False),
        ("balance > 1000", True),
        ("balance >= 1250.5", True),
        ("balance < 1250.5", False),
        ('balance <= "1250.5"', True),  # numeric text compares as a number
        ("count == 3.0", True),
        ('count < "10"', True),  # 3 < 10 as numbers, though "3" > "10" as text
        ('time < "12:00"', True),  # text comparison
        ('time >= "09:30" and time < "17:00"', True),
        ('weekday in ["sat", "sun"]', True),
        ('weekday not in ["sat", "sun"]', False),
        ("count in [1, 2, 3]", True),
        ('"971" in caller', True),
        ('caller matches "^\\+9715"', True),
        ('caller matches "^\\+1"', False),
        ("flag", True),
        ("flag == true", True),
        ("empty", False),
        ("zero", False),
        ("not empty", True),
        ("missing", False),
        ('missing == ""', True),
        ('tier == "x" or count == 3', True),
        ('not tier == "x" and (count == 1 or count == 3)', True),
        ('not (tier == "gold" or flag)', False),
        ("-1 < count", True),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    assert parse_condition(text).eval(_env) is expected


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "empty condition"),
        ("tier = 'gold'", 5, "'=' is not an operator"),
        ("tier == 'gold", 8, "string without its closing quote"),
        ("tier ==", 7, "the condition ends too early"),
        ("(tier == 'x'", 0, "'(' without its ')'"),
        ("tier matches '[a-'", 14, "bad regular expression"),
        ("tier matches gold", 13, "'matches' needs a quoted regular expression"),
        ("tier in [a]", 9, "a list holds only quoted strings"),
        ("tier in ['a' 'b']", 13, "expected ',' or ']'"),
        ("Tier == 'x'", 0, "bad variable name 'Tier'"),
        ("tier == 'x' tier", 12, "unexpected 'tier'"),
        ("and == 1", 0, "expected a value before 'and'"),
        ("tier == ]", 8, "expected a value, found ']'"),
        ("tier ~ 1", 5, "unexpected character '~'"),
    ],
)
def test_condition_errors(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_condition(text)
    assert info.value.offset == offset
    assert message in info.value.message


def test_condition_variables_in_order() -> None:
    cond = parse_condition('a == b and not (c in ["x"] or d matches "y") or e')
    assert [(v.name, v.offset) for v in condition_variables(cond)] == [
        ("a", 0),
        ("b", 5),
        ("c", 16),
        ("d", 30),
        ("e", 48),
    ]


def test_templates() -> None:
    tpl = parse_template("acct ${account} costs $$5 ${x}")
    assert tpl.parts == ("acct ", VarRef("account"), " costs $5 ", VarRef("x"))
    assert [v.offset for v in tpl.variables] == [7, 28]
    assert tpl.render(lambda name: {"account": 42, "x": True}[name]) == "acct 42 costs $5 true"
    assert str(tpl) == "acct ${account} costs $$5 ${x}"
    assert parse_template("a $ b").render(_env) == "a $ b"
    assert parse_template("plain").is_literal
    assert parse_template("").parts == ()
    assert Template((VarRef("v"),)).render(lambda _: "a b", lambda s: s.replace(" ", "+")) == "a+b"


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("x ${a", 2, "without a closing '}'"),
        ("${A-B}", 2, "bad variable name 'A-B'"),
        ("${}", 2, "bad"),
    ],
)
def test_template_errors(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_template(text)
    assert (info.value.offset, message in info.value.message) == (offset, True)


def test_values_as_text_and_truth() -> None:
    assert [as_text(v) for v in (True, 3, 2.0, 2.5, "x")] == ["true", "3", "2", "2.5", "x"]
    assert [is_true(v) for v in (False, 0, 0.0, "", " 0 ", "FALSE", "no", 1, "x")] == [
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]
