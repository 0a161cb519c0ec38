"""The campaigns' bus event: what a campaign's live dashboard shows changed (campaign:changed;
the /campaigns page redraws on it instead of polling)."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import at_least


@dataclass(frozen=True)
class CampaignChanged:
    """One change of a campaign: `change` is `placed` (a lead claimed for a call or a
    preview), `answered` (a person or a machine answered the dialler's call), `ended` (an
    attempt's result, `result`; a preview call's outcome written back too) or `state` (made,
    started, paused, stopped, its settings changed: `state`). Names no lead and no number:
    the page reads those through the API, by its rules."""

    campaign_id: int
    change: str
    attempt_id: int | None = None
    result: str | None = None
    state: str | None = None


# The dashboard's readers: supervisors and up (an agent's preview panel does not follow it).
CAMPAIGN_CHANGED = EventTopic("campaign:changed", CampaignChanged,
                              readers=at_least(Role.SUPERVISOR))

__all__ = ["CAMPAIGN_CHANGED", "CampaignChanged"]
