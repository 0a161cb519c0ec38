"""The OpenAPI document: generated from the route table, so it lists every route as served."""

from __future__ import annotations

import json
import re

from web_world import World

from pbx_stasis.plugins import ROUTE_TABLE
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
