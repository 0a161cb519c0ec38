"""Recording decisions, pure: which calls a queue records, what an agent may do, what expires."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from pbx_stasis.recording.kinds import PolicyMode
from pbx_stasis.validation import WHOLE, Flag, Model, Number, Whole

__all__ = ["PolicyMode", "RecordingPolicy", "RecordingRules", "expired_before"]


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """A queue's recording policy; `sample_percent` only matters for SAMPLE (0-100)."""

    mode: PolicyMode = PolicyMode.NONE
    sample_percent: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sample_percent) and 0.0 <= self.sample_percent <= 100.0):
            raise ValueError("sample_percent must be between 0 and 100")
        if self.mode is PolicyMode.SAMPLE and self.sample_percent == 0.0:
            # A sample of nothing is "none" said confusingly; refuse it where it is set.
            raise ValueError("a sample policy needs a sample_percent above 0")

    def records_at_connect(self, draw: float) -> bool:
        """Whether a call starts being recorded when the agent is connected.

        `draw` is uniform in [0, 1), drawn once per call: SAMPLE records it when it falls
        in the first sample_percent of that range.
        """
        if self.mode is PolicyMode.ALL:
            return True
        if self.mode is PolicyMode.SAMPLE:
            return draw * 100.0 < self.sample_percent
        return False

    @property
    def agent_may_start(self) -> bool:
        """Whether the agent may start recording a call that is not recorded."""
        return self.mode is PolicyMode.ON_DEMAND


@dataclass(frozen=True, slots=True)
class RecordingRules:
    """A tenant's rules: recordings older than `retention_days` are deleted (None: never);
    agents may hear their own calls' recordings when `agents_hear_own`."""

    retention_days: int | None = None
    agents_hear_own: bool = False

    def __post_init__(self) -> None:
        if self.retention_days is not None and self.retention_days < 1:
            raise ValueError("retention_days must be at least 1 (or None to keep forever)")

    def cutoff(self, now: datetime) -> datetime | None:
        """Recordings started before this instant have expired (None: nothing expires)."""
        return expired_before(now, self.retention_days)


def expired_before(now: datetime, retention_days: int | None) -> datetime | None:
    if retention_days is None:
        return None
    return now - timedelta(days=retention_days)


class RecordingPolicyFields(Model):
    """A queue's recording policy as an admin writes it (RecordingPolicy once read)."""

    mode: PolicyMode
    sample_percent: Annotated[Number, Field(ge=0, le=100)] = 0.0


class RecordingRulesFields(Model):
    """A tenant's recording rules as an admin writes them (RecordingRules once read)."""

    retention_days: Annotated[Whole, Field(ge=1, le=36_500), WHOLE] | None = Field(
        description="delete recordings after this many days; null keeps them"
    )
    agents_hear_own: Flag = Field(description="agents may play their own calls' recordings")
