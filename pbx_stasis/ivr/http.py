"""API of IVR flows for the admin's editor: list, read, validate, apply a new version."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from aiohttp import web

from pbx_stasis.ivr.errors import FlowSetInvalid, Problem, errors
from pbx_stasis.ivr.service import FlowControl
from pbx_stasis.ivr.source import MAX_FLOW_CHARS
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import LINES, Model, ModelBody, text
from pbx_stasis.web.contract import to_json
from pbx_stasis.web.routing import Route, RouteRequest, WebError, not_found, reply

ADMIN = frozenset({Role.ADMIN})
FLOW_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
class FlowText(Model):
    """A flow's YAML as an admin writes it (checked whole by the IVR's loader)."""

    yaml: Annotated[str, text(min_length=0, max_length=MAX_FLOW_CHARS, pattern=LINES,
                              strip=False)]


FLOW_TEXT = ModelBody(FlowText)

# The running IVR (the contact center) or the proxy to it; the composition root fills it.
FLOWS: web.AppKey[FlowControl] = web.AppKey("flows")


def flows_of(req: RouteRequest) -> FlowControl:
    service = req.http.app.get(FLOWS)
    if service is None:
        raise WebError(503, "unavailable", "IVR flows are not available in this process")
    return service


def _flow_name(req: RouteRequest) -> str:
    name = req.param("name")
    if not FLOW_NAME.fullmatch(name):
        raise not_found("flow")
    return name


def problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [
        {"line": p.pos.line, "column": p.pos.column, "message": p.message, "warning": p.warning}
        for p in sorted(problems)
    ]


def _refused(problems: Sequence[Problem]) -> WebError:
    listed = problems_json(problems)
    first = listed[0] if listed else {"line": 1, "column": 1, "message": "is not valid"}
    count = len(listed)
    return WebError(
        400,
        "invalid",
        f"The flow has {count} problem{'s' if count != 1 else ''}; nothing was applied",
        {"yaml": f"line {first['line']}, column {first['column']}: {first['message']}"},
        {"problems": listed},
    )


async def list_flows(req: RouteRequest) -> web.StreamResponse:
    flows = await flows_of(req).flows(req.who.tenant_id)
    return reply({"flows": [to_json(flow) for flow in flows]})


async def get_flow(req: RouteRequest) -> web.StreamResponse:
    flow = await flows_of(req).flow(req.who.tenant_id, _flow_name(req))
    return reply({"flow": to_json(flow)})


async def validate_flow(req: RouteRequest) -> web.StreamResponse:
    problems = await flows_of(req).validate_flow(
        req.who.tenant_id, _flow_name(req), req.body["yaml"]
    )
    return reply({"valid": not errors(problems), "problems": problems_json(problems)})


async def apply_flow(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    try:
        applied = await flows_of(req).apply_flow(
            who.tenant_id, _flow_name(req), req.body["yaml"], who.user_id
        )
    except FlowSetInvalid as exc:
        raise _refused(exc.problems) from None
    return reply({"flow": to_json(applied)})


ROUTES = [
    Route("GET", "/api/ivr/flows", list_flows, ADMIN, "IVR flows and their versions", tag="ivr"),
    Route("GET", "/api/ivr/flows/{name}", get_flow, ADMIN, "A flow's newest text", tag="ivr"),
    Route(
        "POST",
        "/api/ivr/flows/{name}/validate",
        validate_flow,
        ADMIN,
        "Check a flow's YAML; every problem with its line and column",
        body=FLOW_TEXT,
        tag="ivr",
    ),
    Route(
        "PUT",
        "/api/ivr/flows/{name}",
        apply_flow,
        ADMIN,
        "Apply the YAML as the flow's new version (400 with the problems if it is not valid)",
        body=FLOW_TEXT,
        tag="ivr",
    ),
]
