"""The OpenAPI 3.1 document, generated from the route table (paths, roles, request schemas)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

import pbx_stasis
from pbx_stasis.web.routing import (
    CSRF_HEADER,
    Kind,
    Route,
    RouteRequest,
    reply,
    reserved_values,
)
from pbx_stasis.web.sessions import COOKIE

_PARAM = re.compile(r"{(\w+)}")
_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON_ERROR = {"application/json": {"schema": _ERROR}}
_HTML: dict[str, Any] = {"text/html": {}}
# What aiohttp itself answers outside /api (an unknown method, a body too large).
_PLAIN: dict[str, Any] = {"text/plain": {}}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a code, e.g. invalid, forbidden, csrf"},
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "each bad field (dotted path) -> what is wrong with it",
            "additionalProperties": {"type": "string"},
        },
    },
}
_ERRORS = {
    "400": "Invalid input: `fields` maps each bad field to a message",
    "401": "Not logged in",
    "403": "Not allowed for your role, or missing CSRF token",
    "404": "No such object in your tenant",
    "409": "Not possible in the current state",
    "503": "The telephony side is unreachable",
}
_LOCATION = {"Location": {"required": True, "schema": {"type": "string"}}}
_ALLOW = {
    "Allow": {
        "required": True,
        "description": "the methods this path takes",
        "schema": {"type": "string"},
    }
}
_DISPOSITION = {"Content-Disposition": {"required": True, "schema": {"type": "string"}}}


def _answer(description: str, content: dict[str, Any] | None = None,
            headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if content is not None:
        answer["content"] = content
    if headers:
        answer["headers"] = headers
    return answer


def _responses(route: Route) -> dict[str, Any]:
    """Every status the route answers with, its content type and the headers it carries."""
    api = route.path.startswith("/api/")
    errors = _JSON_ERROR if api else _PLAIN
    responses: dict[str, Any]
    if route.kind is Kind.SOCKET:
        return {"101": _answer("WebSocket upgrade"),
                "400": _answer("Not a WebSocket request", _PLAIN),
                "401": _answer(_ERRORS["401"], _JSON_ERROR),
                "405": _answer("Method not allowed on this path", _PLAIN, _ALLOW)}
    if route.kind is Kind.PAGE:
        page_errors = _HTML if route.method == "GET" else _JSON_ERROR
        responses = {"303": _answer("Redirect (to the login page when logged out)", None,
                                    _LOCATION)}
        if route.method == "GET":
            responses["200"] = _answer("HTML page", _HTML)
        if route.form is not None:
            # The form page again with its message (bad form, wrong password, too many tries);
            # a body that is no form at all is a JSON error.
            responses["400"] = _answer(_ERRORS["400"], {**_HTML, **_JSON_ERROR})
            responses["401"] = _answer("Wrong tenant, user or password", _HTML)
            responses["429"] = _answer("Too many failed logins", _HTML)
        for status in ("400", "403", "404", "503") if route.roles is not None else ("400",):
            responses.setdefault(status, _answer(_ERRORS[status], page_errors))
        if route.roles is not None and route.method != "GET":
            responses["401"] = _answer(_ERRORS["401"], _JSON_ERROR)
    else:
        success: dict[str, Any] = {ctype: {} for ctype in route.produces}
        success = success or {"application/json": {}}
        headers = _DISPOSITION if route.produces else None
        responses = {"200": _answer("OK", success, headers)}
        if route.method != "GET":
            responses["201"] = _answer("Created", {"application/json": {}})
            responses["204"] = _answer("Done")
        if route.ranged:
            responses["206"] = _answer("Part of the file (Range)", success, headers)
            responses["304"] = _answer("Not modified since the client's copy")
            responses["410"] = _answer("The file is no longer there", _JSON_ERROR)
            responses["412"] = _answer("A precondition (If-Match...) failed")
            responses["416"] = _answer("Range not satisfiable")
        for status, text in _ERRORS.items():
            if route.roles is not None or status in ("400", "404"):
                responses[status] = _answer(text, _JSON_ERROR)
    if route.body is not None or route.form is not None:
        responses["413"] = _answer("The body is too large", errors)
    responses["405"] = _answer("Method not allowed on this path", errors, _ALLOW)
    return dict(sorted(responses.items()))


def _operation(route: Route, table: Sequence[Route]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "x-kind": route.kind.value,
        "x-roles": sorted(role.value for role in route.roles) if route.roles else [],
    }
    reserved = reserved_values(route, table)
    parameters: list[dict[str, Any]] = []
    for name in _PARAM.findall(route.path):
        schema: dict[str, Any] = {"type": "string", "pattern": "^[^{}/]+$"}
        if name in reserved:  # another route's literal path (router_path)
            schema["not"] = {"enum": reserved[name]}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if route.query is not None:
        parameters.extend(route.query.parameters())
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
    if route.roles is not None:
        operation["security"] = [{"session": []}]
    operation["responses"] = _responses(route)
    return operation


def document(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, routes)
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
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE}},
            "schemas": {"Error": _ERROR_SCHEMA},
        },
        "paths": paths,
    }


async def get_openapi(req: RouteRequest) -> web.StreamResponse:
    return reply(document(req.site.routes))


ROUTES = [Route("GET", "/api/openapi.json", get_openapi, None, "This document", tag="meta")]
