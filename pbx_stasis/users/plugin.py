"""Users as the kernel takes them: the admin's API and page for accounts, roles and agents'
profiles."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.users import http
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route

PAGE = Route(
    "GET",
    "/admin/users",
    template_page("users_page", "admin_users.html", "Users", roles=[role.value for role in Role]),
    frozenset({Role.ADMIN}),
    "Users",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin("users", routes=(*http.ROUTES, PAGE))
