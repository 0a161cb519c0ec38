"""The IVR as the kernel takes it: the flow editor (page and API), `pbx ivr`, and the ivr:updated
topic."""

from __future__ import annotations

from pbx_stasis.ivr import http
from pbx_stasis.ivr.events import IVR_UPDATED
from pbx_stasis.ivr.service import FLOW_SERVICE
from pbx_stasis.plugin import LiveService, Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import Kind, Route

PAGE = Route(
    "GET",
    "/admin/ivr",
    # The name field checks the API's own pattern (a file name such as support.yaml).
    template_page("ivr_page", "admin_ivr.html", "IVR flows",
                  flow_name_pattern=http.FLOW_NAME.pattern),
    frozenset({Role.ADMIN}),
    "IVR flow editor",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin(
    "ivr",
    routes=(*http.ROUTES, PAGE),
    topics=(IVR_UPDATED,),
    services=(LiveService(FLOW_SERVICE, http.FLOWS),),
)
