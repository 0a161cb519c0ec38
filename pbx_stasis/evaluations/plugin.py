"""Evaluations as the kernel takes it: the scorecards' and evaluations' routes, the evaluations
page, the evaluation:saved topic, `pbx scorecards`, and its store (app key EVALUATIONS)."""

from __future__ import annotations

from aiohttp import web

from pbx_stasis.evaluations import http
from pbx_stasis.evaluations.core import FIGURES
from pbx_stasis.evaluations.core import Kind as QuestionKind
from pbx_stasis.evaluations.events import EVALUATION_SAVED
from pbx_stasis.evaluations.service import EVALUATIONS, Evaluations
from pbx_stasis.plugin import Plugin
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route


def _setup(app: web.Application, ctx: WebContext) -> None:
    app[EVALUATIONS] = Evaluations(ctx.db, ctx.bus)


PAGE = Route("GET", "/evaluations",
             # The scorecard editor offers the kinds and figures core.py defines.
             template_page("evaluations_page", "evaluations.html", "Evaluations",
                           kinds=[kind.value for kind in QuestionKind], figures=list(FIGURES)),
             ANYONE, "Evaluations: scores per agent (an agent: their own, to acknowledge or "
             "dispute); the scorecards (supervisors read them, admins edit them)",
             kind=Kind.PAGE, tag="pages")
PLUGIN = Plugin("evaluations", routes=(*http.ROUTES, PAGE), topics=(EVALUATION_SAVED,),
                setup=_setup)
