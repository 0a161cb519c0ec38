"""The aiohttp application of the web sidecar: wiring, security headers, templates, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from argon2 import PasswordHasher

from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.errors import StoreUnavailable
from pbx_stasis.store.tables import Role
from pbx_stasis.web.auth import LoginDesk, LoginPolicy, Passwords
from pbx_stasis.web.forwarded import Network, forwarded, parse_networks
from pbx_stasis.web.health import Health, add_health, database_check
from pbx_stasis.web.routing import (
    AUTH_REFUSED,
    CSRF_FIELD,
    RANK,
    Route,
    WebError,
    cookie_token,
    dumps,
    router_path,
    serve,
)
from pbx_stasis.web.serverlog import quiet_malformed_requests
from pbx_stasis.web.sessions import Principal, SessionPolicy, Sessions
from pbx_stasis.web.tokens import ApiTokens, Refused, bearer_token

log = logging.getLogger(__name__)

# web/ sits next to the package in the repository (like migrations/): checkouts and editable
# installs only.
WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
HOUSEKEEPING_EVERY = 600.0  # seconds between purges of expired sessions and old login attempts
HOUSEKEEPING_STOP_WAIT = 6.0  # seconds a stop waits for a purge under way (SQLite's busy wait: 5)
RETRY_AFTER_S = 5  # what a 503 during a database outage suggests


@dataclass
class WebContext:
    """What the web sidecar is given by the process that runs it. The features' own services
    (the contact center, the CRM...) are not here: each feature's plugin puts them in the app
    under its own app keys (pbx_stasis.plugins)."""

    db: Database
    bus: Bus
    settings: Settings
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    session_policy: SessionPolicy = field(default_factory=SessionPolicy)
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    web_root: Path = WEB_ROOT
    clock: Callable[[], datetime] = utc_now


CONTEXT = web.AppKey("context", WebContext)
PROXIES = web.AppKey("trusted_proxies", tuple[Network, ...])


@dataclass(frozen=True)
class _Looked:
    """The session lookup of one request (None: no valid session), kept so it runs once."""

    principal: Principal | None


PRINCIPAL = web.RequestKey("principal", _Looked)
# What a viewer may see of the answers and the feed's events (number masking,
# pbx_stasis/masking, sets it): given the viewer, a function rewriting a JSON value, or None
# to send values as they are.
Shape = Callable[[Any], Any]
ViewerShape = Callable[[Principal], Awaitable[Shape | None]]
VIEWER_SHAPE: web.AppKey[ViewerShape] = web.AppKey("viewer_shape")


class Sockets:
    """Open WebSocket feeds by session, so logout and role changes can close them at once."""

    def __init__(self) -> None:
        self._by_session: dict[str, set[web.WebSocketResponse]] = {}
        self._by_user: dict[int, set[str]] = {}

    def add(self, principal: Principal, socket: web.WebSocketResponse) -> None:
        self._by_session.setdefault(principal.session_id, set()).add(socket)
        self._by_user.setdefault(principal.user_id, set()).add(principal.session_id)

    def discard(self, principal: Principal, socket: web.WebSocketResponse) -> None:
        sockets = self._by_session.get(principal.session_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_session[principal.session_id]
                sessions = self._by_user.get(principal.user_id, set())
                sessions.discard(principal.session_id)
                if not sessions:
                    self._by_user.pop(principal.user_id, None)

    async def close_sessions(self, session_ids: list[str], reason: str) -> None:
        for sid in session_ids:
            for socket in list(self._by_session.get(sid, ())):
                await socket.close(code=4001, message=reason.encode())

    async def close_user(self, user_id: int, reason: str) -> None:
        await self.close_sessions(list(self._by_user.get(user_id, ())), reason)

    async def close_all(self) -> None:
        for sockets in list(self._by_session.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server shutting down")


class Site:
    """Everything the handlers share: the context, sessions, logins, templates."""

    def __init__(self, ctx: WebContext, routes: Sequence[Route] = ()) -> None:
        self.ctx = ctx
        self.routes = tuple(routes)  # what this site serves (the OpenAPI document lists them)
        self.passwords = Passwords(ctx.password_hasher)
        self.sessions = Sessions(ctx.db, ctx.session_policy, ctx.clock)
        self.tokens = ApiTokens(ctx.db, ctx.clock)
        self.login_desk = LoginDesk(ctx.db, self.passwords, ctx.login_policy, ctx.clock)
        self.sockets = Sockets()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(ctx.web_root / "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals["asset"] = self.asset
        # |tojson (HTML-safe JSON for the page-data block) with our encoder (datetimes, enums).
        self.templates.policies["json.dumps_function"] = dumps
        self.templates.policies["json.dumps_kwargs"] = {}
        self._asset_versions: dict[str, str] = {}

    def now(self) -> datetime:
        return self.ctx.clock()

    def asset(self, path: str) -> str:
        """The URL of a static file, with a content hash so browsers never run a stale copy."""
        version = self._asset_versions.get(path)
        if version is None:
            file = self.ctx.web_root / "static" / path
            try:
                version = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
            except OSError:
                version = "missing"
            self._asset_versions[path] = version
        return f"/static/{path}?v={version}"

    async def principal_of(self, request: web.Request) -> Principal | None:
        """The user of the request's API token or session cookie, looked up once per request."""
        if PRINCIPAL not in request:
            request[PRINCIPAL] = _Looked(await self.still_valid(request))
        return request[PRINCIPAL].principal

    async def still_valid(self, request: web.Request) -> Principal | None:
        """The request's user as the database says now: its `Authorization: Bearer` token when
        it sends one (a bad token is no user: never a fallback to the cookie), else its
        session cookie."""
        bearer = bearer_token(request.headers.get("Authorization"))
        if bearer is not None:
            found = await self.tokens.resolve(bearer) if bearer else None
            if isinstance(found, Refused):
                # Told to the client instead of a plain "log in first" (routing.py).
                request[AUTH_REFUSED] = WebError(401, found.code, found.message)
                return None
            return found
        token = cookie_token(request)
        return await self.sessions.resolve(token) if token else None

    def render(
        self,
        request: web.Request,
        template: str,
        principal: Principal | None,
        status: int = 200,
        **values: Any,
    ) -> web.Response:
        page = self.templates.get_template(template).render(
            me=principal,
            csrf_field=CSRF_FIELD,
            nav=navigation(principal),
            path=request.path,
            **values,
        )
        return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")

    def error_page(
        self,
        request: web.Request,
        principal: Principal | None,
        status: int,
        title: str,
        message: str,
    ) -> web.Response:
        return self.render(
            request, "error.html", principal, status=status, title=title, message=message
        )


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str


_NAV: list[tuple[str, str, Role]] = [
    ("/agent", "Agent", Role.AGENT),
    ("/tickets", "Tickets", Role.AGENT),
    ("/voicemail", "Voicemail", Role.AGENT),
    ("/wallboard", "Wallboard", Role.SUPERVISOR),
    ("/supervise", "Live calls", Role.SUPERVISOR),
    ("/recordings", "Recordings", Role.SUPERVISOR),
    ("/evaluations", "Evaluations", Role.AGENT),
    ("/reports", "Reports", Role.SUPERVISOR),
    ("/outbound", "Outbound", Role.SUPERVISOR),
    ("/campaigns", "Campaigns", Role.SUPERVISOR),
    ("/admin/users", "Users", Role.ADMIN),
    ("/admin/queues", "Queues", Role.ADMIN),
    ("/admin/dispositions", "Dispositions", Role.ADMIN),
    ("/admin/contact-fields", "Contact fields", Role.ADMIN),
    ("/admin/call-scripts", "Call scripts", Role.ADMIN),
    ("/admin/compliance", "Compliance", Role.ADMIN),
    ("/admin/recording", "Recording", Role.MANAGER),
    ("/admin/ivr", "IVR flows", Role.ADMIN),
    ("/admin/integrations", "Integrations", Role.ADMIN),
]


def navigation(principal: Principal | None) -> list[NavLink]:
    if principal is None:
        return []
    rank = RANK[principal.role]
    return [NavLink(href, label) for href, label, role in _NAV if rank >= RANK[role]]


SITE = web.AppKey("site", Site)

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


@web.middleware
async def _forwarded(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Behind a trusted reverse proxy: the client's address and scheme (web/forwarded.py)."""
    proxies = request.app[PROXIES]
    if proxies:
        client, scheme = forwarded(request.remote, request.headers.get("X-Forwarded-For"),
                                   request.headers.get("X-Forwarded-Proto"), proxies)
        if client is not None or scheme is not None:
            request = request.clone(remote=client or request.remote or "unknown",
                                    scheme=scheme or request.scheme)
    return await handler(request)


@web.middleware
async def _guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Security headers on every answer, JSON errors under /api, and no stack traces out."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            response = web.json_response(
                {"error": exc.reason.lower().replace(" ", "-"), "message": exc.reason},
                status=exc.status,
                # 405 must say which methods the path takes (RFC 9110).
                headers={"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None,
            )
        else:
            _secure(request, exc)  # redirects and aiohttp's own error pages get them too
            raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except StoreUnavailable as exc:
        # An outage, not a bug: one line per request (no traceback), and a 503 the pages and
        # scripts can retry on.
        log.warning("%s %s: 503, %s", request.method, request.path, exc)
        if request.path.startswith("/api/"):
            response = web.json_response(
                {"error": "database-unavailable",
                 "message": "The database cannot be reached; try again in a few seconds"},
                status=503, headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        else:
            response = web.Response(
                text="The database cannot be reached; try again in a few seconds.",
                status=503, content_type="text/plain",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            response = web.json_response(
                {"error": "internal", "message": "Something went wrong on the server"},
                status=500,
            )
        else:
            response = web.Response(
                text="Something went wrong on the server.", status=500, content_type="text/plain"
            )
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a WebSocket or streamed answer: headers already sent
        return
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    site = app[SITE]
    stopping = asyncio.Event()

    async def loop() -> None:
        while not stopping.is_set():
            try:
                await site.sessions.purge_expired()
                await site.login_desk.purge()
            except StoreUnavailable as exc:
                log.warning("web housekeeping skipped: %s", exc)
            except Exception:
                log.exception("web housekeeping failed; retrying later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), HOUSEKEEPING_EVERY)

    task = asyncio.create_task(loop(), name="web-housekeeping")
    yield
    # A pass under way (the first one runs at start) is let finish: cancelled mid-query, its
    # connection's reset is cancelled too and SQLAlchemy logs an ERROR with a traceback (a stop
    # right after a start, the database busy). Bounded, for a database that does not answer.
    stopping.set()
    await asyncio.wait([task], timeout=HOUSEKEEPING_STOP_WAIT)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await site.sockets.close_all()


def create_web_app(ctx: WebContext, routes: Sequence[Route]) -> web.Application:
    """The web sidecar for one process, serving `routes` (the table the composition root,
    pbx_stasis.plugins, collects from the features); run it with aiohttp's AppRunner or
    web.run_app."""
    quiet_malformed_requests()
    app = web.Application(middlewares=[_forwarded, _guard], client_max_size=2 * 1024 * 1024)
    site = Site(ctx, routes)
    app[CONTEXT] = ctx
    app[PROXIES] = parse_networks(ctx.settings.web.trusted_proxies)
    app[SITE] = site
    for route in routes:
        app.router.add_route(route.method, router_path(route, routes), serve(route, site),
                             name=route.operation_id)
    app.router.add_static("/static", ctx.web_root / "static", append_version=False)
    # /healthz, /readyz, /metrics: the process that runs the app adds its own checks and figures.
    add_health(app, Health({"database": database_check(ctx.db)},
                           token=ctx.settings.web.metrics_token))
    app.cleanup_ctx.append(_housekeeping)
    return app
