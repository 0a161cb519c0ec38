"""The OpenAPI document: generated from the route table, so it lists every route as served."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import Field, TypeAdapter, ValidationError
from web_world import World

from pbx_stasis.crm.contacts import ContactFields
from pbx_stasis.plugins import ROUTE_TABLE
from pbx_stasis.validation import DB_INT_MAX, LINES, WHOLE, Day, Scalar, Whole, text
from pbx_stasis.web.routing import CSRF_HEADER


async def test_openapi_lists_every_route_with_roles_and_shapes(world: World) -> None:
    response = await world.request(None, "GET", "/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert listed == {(route.method, route.path) for route in ROUTE_TABLE}
    operation_ids = []
    for route in ROUTE_TABLE:
        operation = document["paths"][route.path][route.method.lower()]
        operation_ids.append(operation["operationId"])
        roles = sorted(role.value for role in route.roles) if route.roles else []
        assert operation["x-roles"] == roles
        parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        for name in re.findall(r"{(\w+)}", route.path):
            assert ("path", name) in parameters
        if route.query is not None:
            assert {("query", name) for name in route.query.fields} <= parameters
        assert (("header", CSRF_HEADER) in parameters) == route.needs_csrf
        if route.body is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == json.loads(json.dumps(route.body.schema()))
            assert set(schema["properties"]) == set(route.body.fields)
    assert len(operation_ids) == len(set(operation_ids)), "operationId must be unique"


async def test_every_schema_speaks_json_schema(world: World) -> None:
    """A bound the validator checks is a JSON Schema keyword in the document (a bound written
    before a validator function once came out as pydantic's own `ge`/`le`, which no client
    reads)."""
    document = await (await world.request(None, "GET", "/api/openapi.json")).json()
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})

    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node).union(*(keys(value) for value in node.values()))
        if isinstance(node, list):
            return set().union(*(keys(value) for value in node))
        return set()

    assert not keys(document["paths"]) & {"ge", "le", "gt", "lt", "min_length", "max_length"}


# Values the API fuzz generated from the document that the schemas then refused (or the other
# way round): the document must say what the validator does.
_NAME = Annotated[str, text(max_length=64, pattern=r"[a-z0-9][a-z0-9_\-]{0,63}")]
_LINE = Annotated[str, text(min_length=0, max_length=100)]
_LINES = Annotated[str, text(min_length=0, max_length=100, pattern=LINES, strip=False)]
_SOME_TEXT = Annotated[str, text(max_length=100)]
_SMALL = Annotated[Whole, Field(ge=0, le=10), WHOLE]
_ID = Annotated[Whole, Field(ge=1, le=DB_INT_MAX), WHOLE]
_CUSTOM = ContactFields.model_fields["custom_fields"].rebuild_annotation()
AGREEMENT: list[tuple[Any, object, bool]] = [
    (_NAME, "0Ab", False),
    (_NAME, "sales", True),
    (_LINE, "two\nlines", False),
    (_LINE, "nul\x00", False),
    (_LINES, "two\nlines", True),
    (_SOME_TEXT, "   ", False),
    (_SMALL, 3.0, True),
    (_SMALL, 3.5, False),
    (_ID, 2**31, False),
    (Day, "9999-12-31", False),
    (Day, "1969-12-31", False),
    (Day, "2026-02-29", False),
    (Day, "2028-02-29", True),
    (_CUSTOM, {"bad key!": 1}, False),
    (_CUSTOM, {"account": "A-1"}, True),
    (Scalar, 2**60, False),
]


@pytest.mark.parametrize(("kind", "value", "valid"), AGREEMENT,
                         ids=[repr(case[1])[:20] for case in AGREEMENT])
def test_the_document_and_the_validator_agree(kind: Any, value: object, valid: bool) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    schema = json.loads(json.dumps(adapter.json_schema()))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        accepted, errors = False, exc.errors()
    else:
        accepted, errors = True, []
    assert (accepted, validator.is_valid(value)) == (valid, valid), errors


async def test_openapi_says_what_each_route_answers(world: World) -> None:
    document = await (await world.request(None, "GET", "/api/openapi.json")).json()
    paths = document["paths"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "message"]
    csv = paths["/api/reports/csv"]["get"]["responses"]["200"]
    assert list(csv["content"]) == ["text/csv"] and "Content-Disposition" in csv["headers"]
    audio = paths["/api/recordings/{recording_id}/audio"]["get"]["responses"]
    assert "audio/wav" in audio["200"]["content"] and {"206", "410", "416"} <= set(audio)
    page = paths["/agent"]["get"]["responses"]
    assert list(page["200"]["content"]) == ["text/html"]
    assert page["303"]["headers"]["Location"]["required"]
    assert list(page["403"]["content"]) == ["text/html"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert responses["405"]["headers"]["Allow"]["required"], (method, path)
            if path.startswith("/api/"):
                for status in ("400", "404"):
                    error = responses[status]["content"]["application/json"]["schema"]
                    assert error == {"$ref": "#/components/schemas/Error"}, (method, path)
            if method == "get" and operation["x-kind"] == "api":
                assert not {"201", "204"} & set(responses), path
    calls = paths["/api/calls/{call_id}"]["get"]["parameters"][0]["schema"]
    assert calls["not"] == {"enum": ["dial", "dial-by", "live"]}
