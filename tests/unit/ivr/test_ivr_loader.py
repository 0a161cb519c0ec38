"""Loading flow files: every mistake reported once, at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from ivr_testing import EXAMPLE

from pbx_stasis.ivr.errors import FlowSetInvalid, Pos, Problem
from pbx_stasis.ivr.loader import check_sources, load_flowset, load_flowset_files
from pbx_stasis.ivr.model import CollectNode, MenuNode, ScheduleNode
from pbx_stasis.ivr.source import YMap, YScalar, YSeq, parse_yaml

MISTAKES = Path(__file__).with_name("mistakes.yaml")

# (line, column, part of the message): one entry per mistake in mistakes.yaml. The node 'orphan'
# (line 78) that no path reaches is not listed: an unreachable node is a warning, told only for a
# flow with no error (a broken `next` would cut off every node after it).
EXPECTED = [
    (6, 15, "unknown timezone 'Europe/Pariss' (did you mean 'Europe/Paris'?)"),
    (8, 16, "max_steps must be between 1 and 100000, not -5"),
    (13, 7, "prompt 'menu' has no 'ar' version and 'ar' has no fallback"),
    (18, 28, "unknown prompt 'welcom_typo' (did you mean 'welcome'?)"),
    (23, 9, "unknown field 'promts' in menu node 'main' (did you mean 'prompts'?)"),
    (26, 11, "menu key '12' must be a single key: 0-9, * or #"),
    (27, 16, "'nowhere' is not a node of flow 'first'"),
    (35, 18, "timeout must be a positive number of seconds, not -3"),
    (40, 15, "bad variable name 'Account-No'"),
    (42, 21, "terminator must be '#', '*' or empty for none"),
    (43, 20, "bad regular expression: missing ), unterminated subpattern"),
    (50, 11, "unknown weekday 'fry' (did you mean 'fri'?)"),
    (51, 17, "bad time '25:00'"),
    (53, 20, "bad date '2026-02-30': no such day"),
    (59, 23, "condition: '=' is not an operator: write '==' to compare"),
    (61, 18, "unknown variable 'tierr' (did you mean 'tier'?)"),
    (66, 17, "method must be GET or POST, not 'FETCH'"),
    (67, 14, "url must start with http:// or https://"),
    (71, 7, "queue node 'q' is missing required field 'queue'"),
    (77, 16, "unknown hangup cause 'hungup'"),
    (83, 15, "unknown node kind 'menux' (did you mean 'menu'?)"),
    (88, 9, "transfer node 'xfer' takes only one of 'agent', 'number' or 'flow'"),
    (91, 19, "language 'fr' is not in the flow's languages"),
    (96, 11, "'caller' is a built-in variable and cannot be set"),
    (101, 9, "voicemail node 'vm' takes a 'queue' or an 'agent' mailbox, not both"),
    (102, 22, "max_seconds must be a positive number of seconds, not 0"),
    (104, 7, "play node 'nonext' is missing required field 'next'"),
    (107, 19, "barge_in must be true or false, not text"),
    (110, 15, "unknown flow 'sales'"),
    (111, 9, "duplicate key 'flow' (first at line 110)"),
    (113, 12, "DID '+15550100' is already used by flow 'first' at mistakes.yaml:4:12"),
    (114, 12, "entry 'start_here' is not a node of flow 'second' (did you mean 'start'?)"),
]


def test_every_mistake_is_reported_once_at_its_place() -> None:
    flowset, problems = check_sources([("mistakes.yaml", MISTAKES.read_text(encoding="utf-8"))])
    assert flowset is None
    assert len(EXPECTED) >= 20
    got = [(p.pos.line, p.pos.column, p.message) for p in problems]
    assert all(p.pos.file == "mistakes.yaml" for p in problems)
    # Exactly one problem per expected mistake, in file order, and nothing else.
    assert len(got) == len(EXPECTED), "\n".join(str(p) for p in problems)
    for (line, column, message), (want_line, want_column, part) in zip(got, EXPECTED, strict=True):
        assert (line, column) == (want_line, want_column), message
        assert part in message


def test_an_unreachable_node_is_a_warning_that_does_not_refuse_the_flow() -> None:
    text = """flows:
  f:
    dids: ["+15550100"]
    entry: a
    nodes:
      a: {kind: hangup}
      lonely: {kind: hangup}
"""
    flowset, problems = check_sources([("f.yaml", text)])
    assert flowset is not None
    assert [str(p) for p in problems] == [
        "f.yaml:7:7: warning: node 'lonely' cannot be reached from entry 'a'"]
    assert problems[0].warning


def _example_with(line: int, old: str, new: str) -> list[str]:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    _, problems = check_sources([("support.yaml", "\n".join(lines) + "\n")])
    return [str(p) for p in problems]


def test_one_typo_is_one_problem_not_a_cascade_of_unreachable_nodes() -> None:
    """The demo's flow with one typo in the first node's `next` (every other node hangs off it):
    29 problems before, 28 of them "cannot be reached"."""
    assert _example_with(92, "next: choose_language", "nxt: choose_language") == [
        "support.yaml:88:7: play node 'welcome' is missing required field 'next'",
        "support.yaml:92:9: unknown field 'nxt' in play node 'welcome' (did you mean 'next'?)",
    ]
    assert _example_with(92, "choose_language", "choose_languag") == [
        "support.yaml:92:15: 'choose_languag' is not a node of flow 'support' "
        "(did you mean 'choose_language'?)",
    ]


def test_a_key_without_its_colon_is_reported_on_its_own_line() -> None:
    """PyYAML notices the missing ':' at the next token (two lines later here)."""
    assert _example_with(92, "next: choose_language", "next choose_language") == [
        "support.yaml:92:9: YAML syntax: could not find expected ':'",
    ]


def test_problems_print_as_file_line_column() -> None:
    with pytest.raises(FlowSetInvalid) as info:
        load_flowset([("mistakes.yaml", MISTAKES.read_text(encoding="utf-8"))])
    first = str(info.value).splitlines()[0]
    assert (
        first
        == "mistakes.yaml:6:15: unknown timezone 'Europe/Pariss' (did you mean 'Europe/Paris'?)"
    )
    assert str(Problem(Pos("a.yaml", 3, 4), "oops")) == "a.yaml:3:4: oops"


def test_the_example_is_valid() -> None:
    flowset = load_flowset_files([EXAMPLE])
    assert set(flowset.flows) == {"support", "sales"}
    assert flowset.flow_for_did("+97145550100") is flowset.flows["support"]
    assert flowset.flow_for_did("+97145550200") is flowset.flows["sales"]
    assert flowset.flow_for_did("+1") is None
    support = flowset.flows["support"]
    assert support.languages == ("en", "ar")
    assert dict(support.fallbacks) == {"ar": "en"}
    hours = support.nodes["hours"]
    assert isinstance(hours, ScheduleNode)
    assert hours.schedule.weekly[0] == ((8 * 60, 20 * 60),)
    assert hours.schedule.weekly[6] == ()
    ask = support.nodes["ask_account"]
    assert isinstance(ask, CollectNode) and ask.pattern is not None
    assert ask.pattern.pattern == "^[0-9]{6,10}$"
    menu = support.nodes["billing_menu"]
    assert isinstance(menu, MenuNode) and set(menu.options) == {"1", "2", "*"}
    # An Arabic prompt missing from the sales flow falls back to English.
    assert flowset.flows["sales"].resolve_prompt("sales_welcome", "ar") is not None


def test_duplicate_dids_across_files() -> None:
    a = "flows:\n  a:\n    dids: ['+1555']\n    entry: x\n    nodes:\n      x: {kind: hangup}\n"
    b = (
        "flows:\n  b:\n    dids: ['+1666', '+1555']\n    entry: y\n"
        "    nodes:\n      y: {kind: hangup}\n"
    )
    c = "flows:\n  a:\n    entry: z\n    nodes:\n      z: {kind: hangup}\n"
    _, problems = check_sources([("a.yaml", a), ("b.yaml", b), ("c.yaml", c)])
    assert [str(p) for p in problems] == [
        "b.yaml:3:21: DID '+1555' is already used by flow 'a' at a.yaml:3:12",
        "c.yaml:2:3: flow 'a' is already defined at a.yaml:2:3",
    ]


def test_yaml_syntax_errors_are_positioned_and_other_files_still_checked() -> None:
    broken = "flows:\n  a:\n    entry: x\n   nodes: [\n"
    other = "flows:\n  b:\n    entry: nope\n    nodes:\n      x: {kind: hangup}\n"
    _, problems = check_sources([("broken.yaml", broken), ("other.yaml", other)])
    assert problems[0].pos.file == "broken.yaml"
    assert problems[0].message.startswith("YAML syntax:")
    assert [str(p) for p in problems[1:]] == [
        "other.yaml:3:12: entry 'nope' is not a node of flow 'b'"
    ]


def test_empty_and_odd_files() -> None:
    assert [str(p) for p in check_sources([("e.yaml", "")])[1]] == ["e.yaml:1:1: the file is empty"]
    assert [str(p) for p in check_sources([("l.yaml", "- 1\n")])[1]] == [
        "l.yaml:1:1: a flow file must be a mapping, not a list"
    ]
    assert [str(p) for p in check_sources([("m.yaml", "flow: {}\n")])[1]] == [
        "m.yaml:1:1: the file is missing required field 'flows'",
        "m.yaml:1:1: unknown field 'flow' in the file (did you mean 'flows'?)",
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FlowSetInvalid) as info:
        load_flowset_files([tmp_path / "missing.yaml"])
    assert str(info.value).endswith(
        "missing.yaml:1:1: cannot read the file: No such file or directory"
    )


FLOW = """flows:
  f:
    entry: a
    languages: [en]
    prompts:
      p: {{en: Hi.}}
    nodes:
      a:
{node}
      end: {{kind: hangup}}
"""


def _problems(node: str) -> list[str]:
    text = FLOW.format(node="\n".join("        " + line for line in node.strip().splitlines()))
    return [f"{p.pos.line}:{p.pos.column}: {p.message}" for p in check_sources([("t", text)])[1]]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("kind: play\nprompts: []\nnext: end", ["10:18: prompts needs at least one prompt"]),
        (
            "kind: play\nprompts: [{say: p}]\nnext: end",
            ["10:20: unknown prompt item 'say'"],
        ),
        (
            "kind: play\nprompts: [{digits: 12a}]\nnext: end",
            ["10:28: digits to say must be 0-9, * or #, not '12a'"],
        ),
        (
            "kind: play\nprompts: [{prompt: p, language: fr}]\nnext: end",
            ["10:41: language 'fr' is not in the flow's languages"],
        ),
        (
            "kind: lookup\nurl: 'https://${host}/x'\nnext: end\non_failure: end",
            [
                "10:14: the host of a lookup url must not contain variables",
                "10:25: unknown variable 'host'",
            ],
        ),
        (
            "kind: lookup\nurl: 'https://crm/${id'\nnext: end\non_failure: end",
            ["10:27: url: '${' without a closing '}'"],
        ),
        (
            "kind: lookup\nurl: 'https://crm.example.com/'\nbody: {a: 1}\ninto: {x: 'a..b'}\n"
            "next: end\non_failure: end",
            ["11:9: body is only sent with method POST", "12:19: bad JSON path 'a..b'"],
        ),
        (
            "kind: schedule\nweekly: {mon: '17:00-09:00', sat-fri: [], tue-wed: x}\n"
            "exceptions: [{date: '2026-01-02', until: '2026-01-01'}]\nopen: end\nclosed: end",
            [
                "10:23: hours '17:00-09:00' end before they start",
                "10:38: weekday range 'sat-fri' runs backwards",
                "10:60: bad hours 'x': expected HH:MM-HH:MM",
                "11:50: until (2026-01-01) is before date (2026-01-02)",
            ],
        ),
        (
            "kind: schedule\ntimezone: Mars/Olympus\nweekly: {mon: 09:00-10:00, mon-tue: []}\n"
            "open: end\nclosed: end",
            [
                "10:19: unknown timezone 'Mars/Olympus'",
                "11:36: 'mon' already has hours (line 11)",
            ],
        ),
        (
            "kind: collect\nprompts: p\ninto: x\nmin_digits: 5\nmax_digits: 4\nnext: end\n"
            "on_failure: end",
            ["12:21: min_digits (5) is above max_digits (4)"],
        ),
        (
            "kind: branch\ncases: [{if: 'a ==', next: end}, {if: '(x', next: end}]\nelse: end",
            [
                "10:27: condition: the condition ends too early",
                "10:48: condition: '(' without its ')'",
            ],
        ),
        (
            "kind: queue\nqueue: q\npriority: urgent\nskills: {a: -1}\nnext: end",
            [
                "11:19: priority must be a whole number or a ${variable}",
                "12:21: level of skill 'a' must be 0 or more, not -1",
            ],
        ),
        ("kind: transfer\nnumber: 'call me'\non_failure: end", ["10:17: bad number 'call me'"]),
        (
            "kind: transfer\non_failure: end",
            ["8:7: transfer node 'a' needs one of 'agent', 'number' or 'flow'"],
        ),
        (
            "kind: set\nvariables: {x: [1]}\nnext: end",
            ["10:24: value of 'x' must be text, a number or true/false, not a list"],
        ),
        # Broken nodes still lead to the nodes they name: no "cannot be reached" cascade.
        ("kind: [menu]\nnext: end", ["9:15: unknown node kind 'a list'"]),
        ("description: no kind\nnext: end", ["8:7: node 'a' is missing required field 'kind'"]),
    ],
)
def test_node_mistakes(node: str, expected: list[str]) -> None:
    got = _problems(node)
    assert len(got) == len(expected), got
    for line, part in zip(got, expected, strict=True):
        where, _, message = part.partition(" ")
        assert line.startswith(where + " "), (line, part)
        assert message in line


def test_flow_level_mistakes() -> None:
    text = """flows:
  f:
    entry: a
    dids: [12a, '0044']
    languages: [en, EN, en]
    fallbacks: {fr: en, en: en}
    prompts:
      p: {en: {file: ../etc/passwd}, de: x}
      q: {en: {}}
    variables: {ok: 1, none: ~}
    nodes:
      a: {kind: hangup}
"""
    got = [f"{p.pos.line}:{p.pos.column}: {p.message}" for p in check_sources([("t", text)])[1]]
    assert got == [
        "4:12: bad DID '12a': digits with an optional leading +",
        "5:21: bad language code 'EN': use e.g. en, ar, fr_CA",
        "5:25: language 'en' is listed twice",
        "6:17: fallback for undeclared language 'fr'",
        "6:29: language 'en' cannot fall back to itself",
        "8:22: bad sound file '../etc/passwd': a name below sounds/<lang>/ without extension",
        "8:38: prompt 'p' has language 'de' that is not in languages",
        "9:15: prompt 'q' in 'en' needs 'file', 'text' or both",
        "10:30: variable 'none' needs a text, number or true/false value",
    ]


def test_yaml_1_2_scalars_and_positions() -> None:
    tree, problems = parse_yaml(
        "s.yaml",
        "a: no\nb: 09:30\nc: 2026-12-25\nd: 0044\ne: true\nf: 1.5\ng: ~\nh: 0x1F\n'i': 'q'\n",
    )
    assert problems == []
    assert isinstance(tree, YMap)
    values = {k.text: v for k, v in tree}
    assert all(isinstance(v, YScalar) for v in values.values())
    got = {k: v.value for k, v in values.items() if isinstance(v, YScalar)}
    assert got == {
        "a": "no",
        "b": "09:30",
        "c": "2026-12-25",
        "d": 44,
        "e": True,
        "f": 1.5,
        "g": None,
        "h": 31,
        "i": "q",
    }
    d = values["d"]
    assert isinstance(d, YScalar) and d.text == "0044" and d.pos == Pos("s.yaml", 4, 4)
    i = values["i"]
    assert isinstance(i, YScalar) and i.pos_at(0) == Pos("s.yaml", 9, 7)


def test_recursive_alias_and_non_scalar_keys() -> None:
    tree, problems = parse_yaml("r.yaml", "a: &x [1, *x]\n? [k]\n: v\n")
    assert isinstance(tree, YMap)
    assert [str(p) for p in problems] == [
        "r.yaml:1:4: recursive YAML alias",
        "r.yaml:2:3: a mapping key must be a plain value",
    ]
    a = tree.get("a")
    assert isinstance(a, YSeq) and len(a.items) == 2


def test_one_mistake_is_not_reported_again_where_it_is_used() -> None:
    text = """flows:
  f:
    entry: a
    prompts:
      p: {en: 5}
    nodes:
      a: {kind: play, prompts: p, next: my node}
      my node: {kind: hangup}
"""
    assert [str(p) for p in check_sources([("t", text)])[1]] == [
        "t:5:15: prompt 'p' in 'en' must be text, not a number",
        "t:8:7: bad node name 'my node': use letters, digits, _ and -",
    ]


FIRST_QUEUES = """\
flows:
  straight:
    description: A greeting, then sales
    dids: ["100"]
    entry: hello
    nodes:
      hello: {kind: set, variables: {line: "main"}, next: to_sales}
      to_sales: {kind: queue, queue: sales}
  chosen:
    description: The caller picks
    dids: ["200"]
    entry: pick
    nodes:
      pick: {kind: menu, prompts: [{sound: beep}], options: {"1": to_sales, "2": to_support},
             on_failure: to_sales}
      to_sales: {kind: queue, queue: sales}
      to_support: {kind: queue, queue: support}
  templated:
    description: The queue named by a variable
    dids: ["300"]
    entry: to_line
    variables: {line: "sales"}
    nodes:
      to_line: {kind: queue, queue: "${line}"}
"""


def test_the_queue_a_number_reaches_with_no_choice_on_the_way() -> None:
    """Where a call the app never saw (refused while it was away) counts: restart/away.py."""
    flowset = load_flowset([("first.yaml", FIRST_QUEUES)])
    found = {did: flowset.flows[name].first_queue() for did, name in flowset.dids.items()}
    assert found == {"100": "sales", "200": None, "300": None}
