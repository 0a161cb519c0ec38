"""The recording policies' modes, apart from SQLAlchemy: `pbx recordings policy` offers them as
choices without loading the ORM."""

from __future__ import annotations

import enum


class PolicyMode(enum.StrEnum):
    """Which calls of a queue are recorded."""

    ALL = "all"  # every call, from the moment the agent is connected
    NONE = "none"  # never, not even on the agent's request
    ON_DEMAND = "on-demand"  # when the agent asks for it, from that moment
    SAMPLE = "sample"  # a random share of calls (sample_percent), decided at connect
