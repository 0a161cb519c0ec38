"""`pbx scorecards ...`: a tenant's evaluation scorecards and their agents' scores.

    pbx scorecards list [--tenant default]
    pbx scorecards set FILE.json [--tenant default]   (a new scorecard, or the one of its name)
    pbx scorecards scores [--agent USER_ID] [--tenant default]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.evaluations.service import Evaluations


def _with_evaluations(settings: Settings, tenant: str,
                      work: Callable[[Evaluations, int], Awaitable[int]]) -> int:
    from pbx_stasis.bus import Bus
    from pbx_stasis.evaluations.service import Evaluations

    # A bus of its own: nobody listens in this process, so nothing is published.
    return commands.for_tenant(settings.database.url, tenant,
                               lambda db, tenant_id: work(Evaluations(db, Bus()), tenant_id))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(evaluations: Evaluations, tenant_id: int) -> int:
        for card in await evaluations.scorecards(tenant_id):
            questions = sum(len(s["questions"]) for s in card.definition["sections"])
            print(f"{card.id}\t{card.name}\t{'active' if card.active else 'retired'}\t"
                  f"{len(card.definition['sections'])} sections, {questions} questions")
        return 0

    return _with_evaluations(settings, args.tenant, work)


def cmd_set(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from pbx_stasis.evaluations.model import ScorecardFields
    from pbx_stasis.validation import field_errors
    from pbx_stasis.web.contract import ServiceError

    try:
        fields = ScorecardFields.model_validate(json.loads(Path(args.file).read_text()))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            for key, message in field_errors(exc, root="").items():
                print(f"{args.file}: {key}: {message}", file=sys.stderr)
        else:
            print(f"{args.file}: {exc}", file=sys.stderr)
        return 1

    async def work(evaluations: Evaluations, tenant_id: int) -> int:
        same = [c for c in await evaluations.scorecards(tenant_id) if c.name == fields.name]
        try:
            card = await evaluations.save_scorecard(tenant_id, fields, 0,
                                                    same[0].id if same else None)
        except ServiceError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"scorecard {card.id} {card.name!r} saved")
        return 0

    return _with_evaluations(settings, args.tenant, work)


def cmd_scores(args: argparse.Namespace, settings: Settings) -> int:
    async def work(evaluations: Evaluations, tenant_id: int) -> int:
        for item in await evaluations.search(tenant_id, agent_user_id=args.agent, limit=500):
            verdict = "FAILED" if item.failed else f"{item.score:g}%"
            print(f"#{item.id}\t{item.created_at:%Y-%m-%d %H:%M}\tagent {item.agent_user_id}\t"
                  f"{item.scorecard}\t{verdict}\t{item.status}")
        return 0

    return _with_evaluations(settings, args.tenant, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cards = sub.add_parser("scorecards", help="a tenant's evaluation scorecards and scores")
    actions = cards.add_subparsers(dest="scorecards_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print the tenant's scorecards")
    listing.set_defaults(func=cmd_list)
    setting = actions.add_parser("set", help="save a scorecard from a JSON file (the API's body)")
    setting.add_argument("file")
    setting.set_defaults(func=cmd_set)
    scores = actions.add_parser("scores", help="print evaluations, newest first")
    scores.add_argument("--agent", type=int, help="one agent's (user id)")
    scores.set_defaults(func=cmd_scores)
    for action in (listing, setting, scores):
        commands.tenant_argument(action)
