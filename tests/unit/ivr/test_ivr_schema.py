"""The JSON Schema for editors matches the loader and is the one shipped in docs/."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from ivr_testing import EXAMPLE, ROOT

from pbx_stasis.ivr.loader import FLOW_FIELDS, NODE_FIELDS, NODE_REQUIRED
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
