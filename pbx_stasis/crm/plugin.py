"""The CRM as the kernel takes it: contacts, dispositions and call outcomes (routes, and the
dispositions' admin page), its stores put in the web app (app key CRM), and its outcomes lent to
the ACD's wrap-up check."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.acd.http.control import DISPOSITIONS_SAVED
from pbx_stasis.crm import http
from pbx_stasis.crm.events import DISPOSITION_SET
from pbx_stasis.crm.service import CRM, Crm, crm_of
from pbx_stasis.crm.timeline import TIMELINE, CallsSource, Timeline
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.tables import Role
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import page, template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route, RouteRequest, not_found


def _setup(app: web.Application, ctx: WebContext) -> None:
    crm = Crm.over(ctx.db, ctx.settings.crm.region)
    app[CRM] = crm
    app[DISPOSITIONS_SAVED] = crm.outcomes
    # The CRM's own part of a contact's timeline; other features add theirs in their setup.
    timeline = Timeline()
    timeline.add(CallsSource(ctx.db, crm.contacts))
    app[TIMELINE] = timeline


PAGE = Route(
    "GET",
    "/admin/dispositions",
    template_page("dispositions_page", "admin_dispositions.html", "Dispositions"),
    frozenset({Role.ADMIN}),
    "Dispositions",
    kind=Kind.PAGE,
    tag="pages",
)
async def contact_page(req: RouteRequest) -> web.StreamResponse:
    """The contact's page (its script loads the timeline); 404 for another tenant's contact."""
    contact = await crm_of(req).contacts.get(
        req.who.tenant_id, req.int_param("contact_id", "contact"))
    if contact is None:
        raise not_found("contact")
    return page(req, "contact.html", contact.name)


CONTACT_PAGE = Route(
    "GET",
    "/contacts/{contact_id}",
    contact_page,
    ANYONE,
    "A contact's page: details, custom fields and timeline",
    kind=Kind.PAGE,
    tag="pages",
)
FIELDS_PAGE = Route(
    "GET",
    "/admin/contact-fields",
    template_page("contact_fields_page", "admin_contact_fields.html", "Contact fields"),
    frozenset({Role.ADMIN}),
    "Contacts' custom fields",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin("crm", routes=(*http.ROUTES, PAGE, CONTACT_PAGE, FIELDS_PAGE),
                topics=(DISPOSITION_SET,), setup=_setup)
