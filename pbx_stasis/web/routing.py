"""The route table's vocabulary: a Route (path, roles, schemas), the request handlers get, errors.

Every page, API route and the WebSocket is one Route in one table (routes.py). The table decides
who may call what: `serve` wraps each handler with the session lookup, the role check, the CSRF
check and payload validation, so a handler only ever runs for an allowed user with clean input.
"""

from __future__ import annotations

import enum
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from pbx_stasis.store.tables import Role
from pbx_stasis.validation import DB_INT_MAX, ModelBody, ModelQuery
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode, to_json
from pbx_stasis.web.sessions import COOKIE, Principal

if TYPE_CHECKING:
    from pbx_stasis.web.app import Site

log = logging.getLogger(__name__)

RANK: dict[Role, int] = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.MANAGER: 2, Role.ADMIN: 3}
ANYONE: frozenset[Role] = frozenset(Role)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def at_least(role: Role) -> frozenset[Role]:
    """The roles from `role` up (agent < supervisor < manager < admin)."""
    return frozenset(r for r in Role if RANK[r] >= RANK[role])


class Kind(enum.StrEnum):
    API = "api"  # JSON in and out
    PAGE = "page"  # HTML; unauthenticated visitors are sent to the login page
    SOCKET = "socket"  # the WebSocket feed


class WebError(Exception):
    """The one error type of the web layer: an HTTP status, a code, a message, bad fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


def invalid(fields: Mapping[str, str]) -> WebError:
    """400 with one message per bad field."""
    return WebError(400, "invalid", "Some fields are not valid", fields)


def not_found(what: str) -> WebError:
    return WebError(404, "not-found", f"No such {what}")


def conflict(code: str, message: str) -> WebError:
    return WebError(409, code, message)


_SERVICE_STATUS = {
    ServiceErrorCode.NOT_FOUND: 404,
    ServiceErrorCode.CONFLICT: 409,
    ServiceErrorCode.INVALID: 400,
    ServiceErrorCode.FORBIDDEN: 403,
    ServiceErrorCode.UNAVAILABLE: 503,
}


def from_service(error: ServiceError) -> WebError:
    fields = {error.field: error.message} if error.field else None
    return WebError(_SERVICE_STATUS[error.code], str(error.code), error.message, fields)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """JSON for replies and the feed: datetimes ISO 8601, enums by value, dataclasses as dicts."""
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class RouteRequest:
    """What a handler gets: the HTTP request, the site, the checked user and clean input."""

    http: web.Request
    site: Site
    route: Route
    principal: Principal | None
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)

    @property
    def who(self) -> Principal:
        """The user; only public routes run without one."""
        if self.principal is None:
            raise WebError(401, "unauthenticated", "Log in first")
        return self.principal

    def param(self, name: str) -> str:
        return self.http.match_info[name]

    def int_param(self, name: str, what: str) -> int:
        """A numeric path segment; anything else is simply not found."""
        raw = self.http.match_info[name]
        # ASCII only: "²" is a digit to str.isdigit() but not to int(). Past the database's
        # integer range no row has that id.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > DB_INT_MAX:
            raise not_found(what)
        return int(raw)


Handler = Callable[[RouteRequest], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One entry of the route table. `roles` None: public (no session needed)."""

    method: str
    path: str
    handler: Handler
    roles: frozenset[Role] | None
    summary: str
    kind: Kind = Kind.API
    # The schemas (pydantic models, validation.py) of the JSON body and the query string.
    body: ModelBody | None = None
    query: ModelQuery | None = None
    # A form-encoded body (login page): documented from here, checked by the handler, which
    # shows the messages on its page rather than as JSON.
    form: ModelBody | None = None
    tag: str = "general"
    # The content types of a success answer that is not JSON (a CSV, an audio file), for the
    # OpenAPI document; `ranged`: a file served with Range and conditional requests.
    produces: tuple[str, ...] = ()
    ranged: bool = False

    @property
    def operation_id(self) -> str:
        return self.handler.__name__.strip("_")

    @property
    def needs_csrf(self) -> bool:
        return self.roles is not None and self.method in UNSAFE_METHODS


def reserved_values(route: Route, table: Sequence[Route]) -> dict[str, list[str]]:
    """For each path parameter, the literal segments of other routes at its place (GET
    /api/calls/live beside /api/calls/{call_id}): values the parameter never takes."""
    segments = route.path.split("/")
    reserved: dict[str, set[str]] = {}
    for other in table:
        others = other.path.split("/")
        if len(others) != len(segments):
            continue
        for index, segment in enumerate(segments):
            match = re.fullmatch(r"{(\w+)}", segment)
            literal = others[index]
            if match is None or literal.startswith("{"):
                continue
            if all(a == b for i, (a, b) in enumerate(zip(segments, others, strict=True))
                   if i != index):
                reserved.setdefault(match.group(1), set()).add(literal)
    return {name: sorted(values) for name, values in reserved.items()}


def router_path(route: Route, table: Sequence[Route]) -> str:
    """The route's path for aiohttp's router, so that it routes as the OpenAPI document says: a
    literal path wins for every method. (aiohttp alone sends GET /api/calls/dial to get_call,
    and its 405 for OPTIONS /api/queues/stats allowed the PUT of /api/queues/{name}.)"""
    path = route.path
    for name, values in reserved_values(route, table).items():
        words = "|".join(re.escape(value) for value in values)
        path = path.replace(f"{{{name}}}", f"{{{name}:(?!(?:{words})(?:/|$))[^{{}}/]+}}")
    return path


def client_ip(request: web.Request) -> str:
    # The peer's address, or the client's one that a trusted reverse proxy forwarded
    # (web.trusted_proxies: the app's middleware rewrote request.remote, web/forwarded.py).
    return request.remote or "unknown"


# Why the request's credentials were refused, when the client should be told (an API token
# that expired or was rotated: web/tokens.py), set while its user is looked up (web/app.py).
AUTH_REFUSED = web.RequestKey("auth_refused", WebError)


def serve(route: Route, site: Site) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for a route: authenticate, authorise, check CSRF, validate, run."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            principal = await site.principal_of(request)
            if route.roles is not None:
                if principal is None:
                    return _unauthenticated(route, request)
                if principal.role not in route.roles:
                    if route.kind is Kind.PAGE:
                        return site.error_page(
                            request,
                            principal,
                            403,
                            "Not for your role",
                            "This page is not available to your role.",
                        )
                    raise WebError(403, "forbidden", "Your role may not do this")
                # An API token is sent by its client on purpose, never by a browser on its
                # own: no CSRF to fear then.
                if route.needs_csrf and principal.token_id is None:
                    await _check_csrf(request, principal)
            if route.form is not None:
                await read_form(request)  # parsed once here, refused if malformed; kept cached
            call = RouteRequest(request, site, route, principal)
            if route.query is not None:
                query = {key: request.query.getone(key) for key in request.query}
                call.query, errors = route.query.validate(query)
                if errors:
                    raise invalid(errors)
            if route.body is not None:
                call.body, errors = route.body.validate(await _json_body(request))
                if errors:
                    raise invalid(errors)
            return await route.handler(call)
        except WebError as exc:
            return _error(route, site, request, exc)
        except ServiceError as exc:
            return _error(route, site, request, from_service(exc))

    handle.__name__ = route.operation_id
    return handle


def _unauthenticated(route: Route, request: web.Request) -> web.StreamResponse:
    refused = request.get(AUTH_REFUSED)
    if refused is not None:  # a known API token refused: its client is told why
        raise refused
    if route.kind is Kind.PAGE and route.method == "GET":
        target = request.rel_url.path_qs
        raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")
    raise WebError(401, "unauthenticated", "Log in first")


def _error(route: Route, site: Site, request: web.Request, exc: WebError) -> web.StreamResponse:
    if route.kind is Kind.PAGE and request.method == "GET":
        return site.error_page(request, None, exc.status, exc.code, exc.message)
    return reply(exc.body(), status=exc.status)


async def _check_csrf(request: web.Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await read_form(request)
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
        raise WebError(403, "csrf", "Missing or wrong CSRF token; reload the page")


Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


async def read_form(request: web.Request) -> Form:
    """The request's form fields; 400 for a body aiohttp cannot read as a form."""
    try:
        return await request.post()
    except (ValueError, LookupError, HttpProcessingError) as exc:
        # A multipart type without a boundary or a part without headers, an unknown charset,
        # bytes that are not in it: the client's mistake, not worth a stack trace (was a 500).
        reason = " ".join(str(exc).split())[:120]
        raise invalid({"body": f"is not a readable form: {reason}"}) from None


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise invalid({"body": "must be JSON (Content-Type: application/json)"})
    try:
        return json.loads(raw, parse_int=_whole_number)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        # RecursionError: a body of a million nested brackets is not worth a stack trace.
        raise invalid({"body": "must be valid JSON"}) from None


_FAR_OUT = 10**40


def _whole_number(digits: str) -> int:
    """A JSON integer. Past 4,300 digits Python refuses to convert one (ValueError); no field
    takes 40, so a longer one stands in as a number beyond every field's range, and the field's
    schema refuses it by name."""
    if len(digits) > 40:
        return -_FAR_OUT if digits.startswith("-") else _FAR_OUT
    return int(digits)


def cookie_token(request: web.Request) -> str:
    return request.cookies.get(COOKIE, "")
