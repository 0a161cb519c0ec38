"""The OpenAPI 3.1 document, generated from the route table (paths, roles, request shapes)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

import pbx_stasis
from pbx_stasis.web.routing import CSRF_HEADER, Kind, Route, RouteRequest, reply
from pbx_stasis.web.sessions import COOKIE

_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    "400": "Invalid input: `fields` maps each bad field to a message",
    "401": "Not logged in",
    "403": "Not allowed for your role, or missing CSRF token",
    "404": "No such object in your tenant",
    "409": "Not possible in the current state",
    "503": "The telephony side is unreachable",
}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "x-kind": route.kind.value,
        "x-roles": sorted(role.value for role in route.roles) if route.roles else [],
    }
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(route.path)
    ]
    if route.query is not None:
        for name, spec in route.query.fields.items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": spec.required,
                    "schema": spec.shape.schema(),
                }
            )
    if route.needs_csrf:
        parameters.append(
            {
                "name": CSRF_HEADER,
                "in": "header",
                "required": True,
                "description": "The session's CSRF token (GET /api/me), or the csrf_token form "
                "field",
                "schema": {"type": "string"},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body.schema()}},
        }
    elif route.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": route.form.schema()}},
        }
    responses: dict[str, Any]
    if route.kind is Kind.PAGE:
        responses = {"200": {"description": "HTML page", "content": {"text/html": {}}}}
        responses["303"] = {"description": "Redirect (to the login page when logged out)"}
    elif route.kind is Kind.SOCKET:
        responses = {"101": {"description": "WebSocket upgrade"}}
    else:
        responses = {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "201": {"description": "Created", "content": {"application/json": {}}},
            "204": {"description": "Done"},
        }
    if route.roles is not None:
        operation["security"] = [{"session": []}]
    for status, text in _ERRORS.items():
        responses.setdefault(status, {"description": text})
    operation["responses"] = responses
    return operation


def document(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pbx-stasis web API",
            "version": pbx_stasis.__version__,
            "description": "Every route with the roles allowed (x-roles). State-changing "
            f"requests need the {CSRF_HEADER} header. Errors are JSON: "
            '{"error": code, "message": text, "fields": {field: message}}.',
        },
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE}}
        },
        "paths": paths,
    }


async def get_openapi(req: RouteRequest) -> web.StreamResponse:
    return reply(document(req.site.routes))


ROUTES = [Route("GET", "/api/openapi.json", get_openapi, None, "This document", tag="meta")]
