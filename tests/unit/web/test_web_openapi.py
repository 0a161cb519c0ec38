"""The OpenAPI document: generated from the route table, so it lists every route as served."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from web_world import World

from pbx_stasis.plugins import ROUTE_TABLE
from pbx_stasis.web.routing import CSRF_HEADER
from pbx_stasis.web.shapes import INVALID, Day, Integer, Scalar, Shape, Table, Text


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


# Values the API fuzz generated from the document that the shapes then refused (or the other
# way round): the document must say what the validator does.
AGREEMENT: list[tuple[Shape, object, bool]] = [
    (Text(min_length=1, max_length=64, pattern=r"[a-z0-9][a-z0-9_\-]{0,63}"), "0Ab", False),
    (Text(min_length=1, max_length=64, pattern=r"[a-z0-9][a-z0-9_\-]{0,63}"), "sales", True),
    (Text(max_length=100), "two\nlines", False),
    (Text(max_length=100), "nul\x00", False),
    (Text(max_length=100, multiline=True), "two\nlines", True),
    (Text(min_length=1, max_length=100), "   ", False),
    (Integer(minimum=0, maximum=10), 3.0, True),
    (Integer(minimum=0, maximum=10), 3.5, False),
    (Integer(minimum=1), 2**31, False),
    (Day(), "9999-12-31", False),
    (Day(), "1969-12-31", False),
    (Day(), "2026-02-29", False),
    (Day(), "2028-02-29", True),
    (Table(Scalar()), {"bad key!": 1}, False),
    (Table(Scalar()), {"account": "A-1"}, True),
    (Scalar(), 2**60, False),
]


@pytest.mark.parametrize(("shape", "value", "valid"), AGREEMENT,
                         ids=[repr(case[1])[:20] for case in AGREEMENT])
def test_the_document_and_the_validator_agree(shape: Shape, value: object, valid: bool) -> None:
    schema = json.loads(json.dumps(shape.schema()))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: dict[str, str] = {}
    accepted = shape.check(value, "field", errors) is not INVALID
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
    assert calls["not"] == {"enum": ["dial", "live"]}
