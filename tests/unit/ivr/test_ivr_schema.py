"""The JSON Schema for editors matches the loader and is the one shipped in docs/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml
from ivr_testing import EXAMPLE, ROOT

from pbx_stasis.ivr.fields import (
    FLOW_FIELDS,
    NODE_FIELDS,
    NODE_REQUIRED,
    SCALARS,
    Flag,
    Seconds,
    Whole,
)
from pbx_stasis.ivr.loader import check_sources
from pbx_stasis.ivr.schema import build_schema, node_fields_in_schema, schema_text
from pbx_stasis.ivr.source import YMap, YNode, YSeq, parse_yaml

SHIPPED = ROOT / "docs" / "ivr.schema.json"


def _plain(node: YNode) -> Any:
    if isinstance(node, YMap):
        return {k.text: _plain(v) for k, v in node}
    if isinstance(node, YSeq):
        return [_plain(i) for i in node.items]
    return node.value


def test_docs_schema_is_up_to_date() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema_text(), (
        "run: python -m pbx_stasis.ivr.schema > docs/ivr.schema.json"
    )


def test_schema_fields_equal_the_loader_fields() -> None:
    assert node_fields_in_schema() == {k: set(v) for k, v in NODE_FIELDS.items()}
    schema = build_schema()
    assert set(schema["$defs"]["flow"]["properties"]) == set(FLOW_FIELDS)
    for kind, required in NODE_REQUIRED.items():
        assert schema["$defs"][f"{kind}Node"]["required"] == ["kind", *required]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_example_names_the_schema_for_editors() -> None:
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../docs/ivr.schema.json"
    assert (EXAMPLE.parent / "../../docs/ivr.schema.json").resolve() == SHIPPED.resolve()


def test_example_fields_are_known_to_the_schema() -> None:
    tree, _ = parse_yaml("support.yaml", EXAMPLE.read_text(encoding="utf-8"))
    assert tree is not None
    doc = _plain(tree)
    schema = build_schema()
    for flow in doc["flows"].values():
        assert set(flow) <= set(schema["$defs"]["flow"]["properties"])
        for node in flow["nodes"].values():
            allowed = schema["$defs"][f"{node['kind']}Node"]["properties"]
            assert set(node) <= set(allowed)


def test_example_validates_against_the_schema() -> None:
    tree, _ = parse_yaml("support.yaml", EXAMPLE.read_text(encoding="utf-8"))
    assert tree is not None
    schema = json.loads(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(_plain(tree)))
    assert errors == []


def test_docs_show_the_example_as_it_is() -> None:
    docs = (ROOT / "docs" / "ivr.md").read_text(encoding="utf-8")
    section = docs.split("## A complete example", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```\n", 1)[0]
    assert block == EXAMPLE.read_text(encoding="utf-8")


def _example_with(owner: str, field: str, value: Any) -> dict[str, Any]:
    tree, _ = parse_yaml("support.yaml", EXAMPLE.read_text(encoding="utf-8"))
    assert tree is not None
    doc = _plain(tree)
    for flow in doc["flows"].values():
        if owner == "flow":
            flow[field] = value
            return doc
        for node in flow["nodes"].values():
            if node["kind"] == owner:
                node[field] = value
                return doc
    raise AssertionError(f"the example has no {owner} node")


def _beyond(rule: Seconds | Whole | Flag) -> list[Any]:
    if isinstance(rule, Flag):
        return ["yes", 1]
    if isinstance(rule, Whole):
        return [rule.minimum - 1, rule.maximum + 1, 2.5]
    return [0, -1, rule.maximum + 1, "soon"]


@pytest.mark.parametrize(("owner", "field"), sorted(SCALARS))
def test_the_loader_and_the_schema_draw_the_same_bounds(owner: str, field: str) -> None:
    # One rule per field (loader.SCALARS): what the loader refuses (file:line:column), the
    # editors' schema marks; what it takes, the schema takes.
    validator = jsonschema.Draft202012Validator(build_schema())
    rule = SCALARS[(owner, field)]
    # The edge of the range (min_digits at its maximum would pass the example's max_digits).
    good: Any = rule.default
    if isinstance(rule, Seconds | Whole):
        good = rule.minimum if isinstance(rule, Whole) and field == "min_digits" else rule.maximum
    doc = _example_with(owner, field, good)
    _, problems = check_sources([("support.yaml", yaml.safe_dump(doc, sort_keys=False))])
    assert problems == [] and list(validator.iter_errors(doc)) == []
    for value in _beyond(rule):
        doc = _example_with(owner, field, value)
        _, problems = check_sources([("support.yaml", yaml.safe_dump(doc, sort_keys=False))])
        assert len(problems) == 1 and field in problems[0].message, (value, problems)
        assert re.fullmatch(r"support\.yaml:\d+:\d+: .+", str(problems[0]))
        assert list(validator.iter_errors(doc)) != [], (owner, field, value)



def _first(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """The example's first node of that kind, to change in place."""
    return next(
        node
        for flow in doc["flows"].values()
        for node in flow["nodes"].values()
        if node["kind"] == kind
    )


def _support(doc: dict[str, Any]) -> dict[str, Any]:
    flow: dict[str, Any] = doc["flows"]["support"]
    return flow


def _number_unquoted(doc: dict[str, Any]) -> None:
    node = _first(doc, "transfer")
    del node["flow"]
    node["number"] = 97145550199


Change = Callable[[dict[str, Any]], object]  # changes the example's plain document in place

# Where the hand-written schema disagreed with the loader, before both came from ivr/fields.py:
# (what, change of the example, whether the loader takes it). The schema must say the same.
AGREEMENTS: list[tuple[str, Change, bool]] = [
    ("transfer to two targets", lambda d: _first(d, "transfer").update(agent="1001"), False),
    ("transfer to no target", lambda d: _first(d, "transfer").pop("flow"), False),
    ("voicemail to two mailboxes", lambda d: _first(d, "voicemail").update(agent="1001"), False),
    ("play with no prompt", lambda d: _first(d, "play").update(prompts=[]), False),
    ("menu with no prompt", lambda d: _first(d, "menu").update(prompts=[]), False),
    ("voicemail with no prompt", lambda d: _first(d, "voicemail").update(prompts=[]), True),
    (
        "sound file with an empty segment",
        lambda d: _support(d)["prompts"]["welcome"].update(en={"file": "pbx//welcome"}),
        False,
    ),
    ("prompt text empty", lambda d: _support(d)["prompts"]["welcome"].update(en=""), False),
    ("flow description empty", lambda d: _support(d).update(description=""), False),
    ("number written unquoted", _number_unquoted, True),
    ("mailbox written as a number", lambda d: _first(d, "voicemail").update(queue=5), True),
    ("one DID without a list", lambda d: _support(d).update(dids="+97145550100"), True),
    ("DID written unquoted", lambda d: _support(d).update(dids=[97145550100]), True),
    (
        "header name with a space",
        lambda d: _first(d, "lookup")["headers"].update({"Bad Name": "x"}),
        False,
    ),
    ("header value not whole", lambda d: _first(d, "lookup")["headers"].update(Accept=1.5), False),
    ("body with GET", lambda d: _first(d, "lookup").update(body={"a": 1}), False),
    ("body with POST", lambda d: _first(d, "lookup").update(method="POST", body={"a": 1}), True),
    (
        "url scheme in capitals",
        lambda d: _first(d, "lookup").update(url="HTTPS://crm.example.com/a/${account}"),
        True,
    ),
    (
        "hours with spaces",
        lambda d: _first(d, "schedule")["weekly"].update({"mon-fri": "08:00 - 20:00"}),
        True,
    ),
    ("closed in a list", lambda d: _first(d, "schedule")["weekly"].update(sun=["Closed"]), True),
    (
        "weekdays in capitals",
        lambda d: _first(d, "schedule").update(weekly={"Mon - Fri": "08:00-20:00"}),
        True,
    ),
    (
        "exception name empty",
        lambda d: _first(d, "schedule")["exceptions"][0].update(name=""),
        False,
    ),
    ("fallback to a bad code", lambda d: _support(d).update(fallbacks={"ar": "EN"}), False),
    (
        "prompt with a bad language code",
        lambda d: _support(d)["prompts"]["welcome"].update(English="Welcome."),
        False,
    ),
    (
        "prompt item with a bad language code",
        lambda d: _first(d, "menu").update(prompts=[{"prompt": "language_menu", "language": "AR"}]),
        False,
    ),
    (
        "digits that are not keys",
        lambda d: _first(d, "play").update(prompts=[{"digits": "12a"}]),
        False,
    ),
    (
        "a number that is not whole",
        lambda d: _first(d, "play").update(prompts=[{"number": "1.5"}]),
        False,
    ),
    (
        "digits from a variable",
        lambda d: _first(d, "play").update(prompts=[{"digits": "0${caller}"}]),
        True,
    ),
    ("regex too long", lambda d: _first(d, "collect").update(pattern="[0-9]" * 61), False),
    (
        "condition too long",
        lambda d: _first(d, "branch")["cases"][0].update({"if": f'tier == "{"x" * 2000}"'}),
        False,
    ),
]


@pytest.mark.parametrize(
    ("change", "taken"), [(c, t) for _, c, t in AGREEMENTS], ids=[w for w, _, _ in AGREEMENTS]
)
def test_the_schema_takes_what_the_loader_takes(change: Change, taken: bool) -> None:
    tree, _ = parse_yaml("support.yaml", EXAMPLE.read_text(encoding="utf-8"))
    assert tree is not None
    doc = _plain(tree)
    change(doc)
    _, problems = check_sources([("support.yaml", yaml.safe_dump(doc, sort_keys=False))])
    assert ([p for p in problems if not p.warning] == []) is taken, problems
    errors = list(jsonschema.Draft202012Validator(build_schema()).iter_errors(doc))
    assert (errors == []) is taken, [e.message for e in errors]


def test_docs_name_every_field_of_every_part() -> None:
    # docs/ivr.md describes the fields for people; fields.py declares them: a field added to one
    # and not the other is caught here.
    docs = (ROOT / "docs" / "ivr.md").read_text(encoding="utf-8")
    kinds = docs.split("## Node kinds", 1)[1].split("\n## ", 1)[0]
    for kind, fields in NODE_FIELDS.items():
        section = kinds.split(f"\n### {kind}\n", 1)[1].split("\n### ", 1)[0]
        for name in fields:
            assert re.search(f"`{name}[`:]", section), (kind, name)
    flow_table = docs.split("| Flow field |", 1)[1].split("\n\n", 1)[0]
    assert sorted(re.findall(r"^\| `(\w+)` \|", flow_table, re.M)) == sorted(FLOW_FIELDS)


def test_a_required_field_shows_no_default() -> None:
    # An editor offering collect's max_digits "default: 20" would suggest it may be left out.
    defs = build_schema()["$defs"]
    for kind, required in NODE_REQUIRED.items():
        for name in required:
            assert "default" not in defs[f"{kind}Node"]["properties"][name], (kind, name)
