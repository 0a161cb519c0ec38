"""HTML pages of the kernel: home, login and logout, and the page shell (`page`, `template_page`)
the features' pages use (each feature hands its pages over in its plugin)."""

from __future__ import annotations

import hmac
import math
import secrets
import unicodedata
from typing import Annotated, Any
from urllib.parse import unquote

from aiohttp import web
from yarl import URL

from pbx_stasis.store.tables import Role
from pbx_stasis.validation import Model, ModelBody, text
from pbx_stasis.web.auth import LoginRefused
from pbx_stasis.web.routing import (
    ANYONE,
    RANK,
    Handler,
    Kind,
    Route,
    RouteRequest,
    client_ip,
)
from pbx_stasis.web.sessions import COOKIE, Principal

LOGIN_COOKIE = "pbx_login"  # the login form's CSRF token (double submit: cookie + form field)
ADMIN = frozenset({Role.ADMIN})


def home_of(principal: Principal) -> str:
    if principal.role is Role.ADMIN:
        return "/admin/users"
    if RANK[principal.role] >= RANK[Role.SUPERVISOR]:
        return "/wallboard"
    return "/agent"


def _plain_path(text: str, invisible: str = "CZ") -> bool:
    """A path a browser reads as this site's: one leading `/`, no backslash, nothing invisible.

    Browsers and yarl drop tabs and newlines from URLs and read `\\` as `/`, so `/<TAB>/evil`
    or `/\\evil` would leave as `//evil`, another site's address."""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return False
    # Control and format (bidi, zero-width) characters (C*) and spaces (Z*) anywhere.
    return not any(unicodedata.category(ch)[0] in invisible for ch in text)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: a login must never send the user elsewhere.

    Also checked percent-decoded (up to three times), so encoded slashes, backslashes or
    controls cannot make it another host for whatever decodes it next; an encoded space
    (`?q=a%20b`) is fine there."""
    if not target or len(target) > 500 or not _plain_path(target):
        return None
    form = target
    for _ in range(3):
        decoded = unquote(form)
        if decoded == form:
            break
        if not _plain_path(decoded, invisible="C"):
            return None
        form = decoded
    location = URL(target)
    if location.scheme or location.host is not None:  # what aiohttp will write as Location
        return None
    if target.startswith(("/login", "/logout")):
        return None
    return target


async def home(req: RouteRequest) -> web.StreamResponse:
    raise web.HTTPSeeOther(home_of(req.who))


def _login_page(
    req: RouteRequest, *, message: str = "", status: int = 200, values: dict[str, str] | None = None
) -> web.Response:
    token = secrets.token_urlsafe(32)
    fields = values or {}
    response = req.site.render(
        req.http,
        "login.html",
        None,
        status=status,
        login_token=token,
        message=message,
        notice="You have been logged out." if "bye" in req.http.query else "",
        tenant=fields.get("tenant") or req.site.ctx.settings.calls.tenant,
        username=fields.get("username", ""),
        next=safe_next(fields.get("next") or req.http.query.get("next")) or "",
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=req.http.secure,
        path="/login",
        max_age=3600,
    )
    return response


async def login_form(req: RouteRequest) -> web.StreamResponse:
    if req.principal is not None:
        raise web.HTTPSeeOther(home_of(req.principal))
    return _login_page(req)


class LoginForm(Model):
    """The login page's form (`next` is checked apart, exactly as sent: safe_next)."""

    tenant: Annotated[str, text(max_length=64)]
    username: Annotated[str, text(max_length=100)]
    password: Annotated[str, text(max_length=200)]
    csrf_token: Annotated[str, text(max_length=100)]
    next: Annotated[str, text(min_length=0, max_length=500)] = ""


LOGIN_FORM = ModelBody(LoginForm, defaults=True)


async def login(req: RouteRequest) -> web.StreamResponse:
    form = await req.http.post()
    raw = {key: value for key, value in form.items() if isinstance(value, str)}
    # `next` is checked apart, exactly as sent (not stripped): safe_next or the home page, and
    # never a reason to refuse the login.
    values, errors = LOGIN_FORM.validate({k: v for k, v in raw.items() if k != "next"})
    keep = {key: raw.get(key, "") for key in ("tenant", "username", "next")}
    if errors:
        missing = ", ".join(sorted(k for k in errors if k != "csrf_token")) or "the form"
        return _login_page(req, message=f"Please fill in {missing}.", status=400, values=keep)
    expected = req.http.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), values["csrf_token"].encode()):
        return _login_page(
            req,
            message="The login form expired. Please try again.",
            status=400,
            values=keep,
        )
    try:
        who = await req.site.login_desk.login(
            values["tenant"], values["username"], values["password"], client_ip(req.http)
        )
    except LoginRefused as refused:
        page = _login_page(
            req, message=refused.message, status=429 if refused.locked else 401, values=keep
        )
        if refused.retry_after is not None:
            seconds = math.ceil(refused.retry_after.total_seconds())
            page.headers["Retry-After"] = str(max(1, seconds))
        return page
    token = await req.site.sessions.open(
        who.user_id, who.tenant_id, client_ip(req.http), req.http.headers.get("User-Agent", "")
    )
    principal = await req.site.sessions.resolve(token)
    assert principal is not None  # just opened
    response = web.HTTPSeeOther(safe_next(raw.get("next")) or home_of(principal))
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Lax", secure=req.http.secure, path="/"
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    await req.site.sessions.close(who.session_id)
    await req.site.sockets.close_sessions([who.session_id], "logged out")
    response = web.HTTPSeeOther("/login?bye=1")
    response.del_cookie(COOKIE, path="/")
    raise response


async def logout_everywhere(req: RouteRequest) -> web.StreamResponse:
    who = req.who
    closed = await req.site.sessions.close_all(who.user_id)
    await req.site.sockets.close_sessions(closed, "logged out everywhere")
    response = web.HTTPSeeOther("/login?bye=1")
    response.del_cookie(COOKIE, path="/")
    raise response


def page(req: RouteRequest, template: str, title: str, **data: Any) -> web.Response:
    """A page of the site: its template, with the user, the tenant and `data` for its script."""
    who = req.who
    page_data = {
        "user": {"id": who.user_id, "name": who.display_name, "username": who.username,
                 "role": who.role},
        "tenant": {"slug": who.tenant_slug, "name": who.tenant_name},
        **data,
    }
    return req.site.render(req.http, template, who, title=title, page_data=page_data)


def template_page(name: str, template: str, title: str, **data: Any) -> Handler:
    """The handler `name` (its OpenAPI operation id) of a page that is its template and its
    script, which loads its data from the API; the features hand their pages over in their
    plugins."""

    async def show(req: RouteRequest) -> web.StreamResponse:
        return page(req, template, title, **data)

    show.__name__ = show.__qualname__ = name
    return show


ROUTES = [
    Route("GET", "/", home, ANYONE, "Home: the page of my role", kind=Kind.PAGE, tag="pages"),
    Route("GET", "/login", login_form, None, "The login page", kind=Kind.PAGE, tag="pages"),
    Route(
        "POST",
        "/login",
        login,
        None,
        "Log in (form); throttled per username and address",
        kind=Kind.PAGE,
        form=LOGIN_FORM,
        tag="pages",
    ),
    Route("POST", "/logout", logout, ANYONE, "Log out", kind=Kind.PAGE, tag="pages"),
    Route(
        "POST",
        "/logout/everywhere",
        logout_everywhere,
        ANYONE,
        "Log out of every browser",
        kind=Kind.PAGE,
        tag="pages",
    ),
]
