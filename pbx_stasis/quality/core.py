"""Reading Asterisk's RTCP figures of a leg (pure): `CHANNEL(rtcp,all)` and
`CHANNEL(rtcp,all_mes)` as one `LegQuality`.

MES (Media Experience Score, Asterisk 21+) is 0-100, computed from jitter, loss and round trip at
each RTCP report (every ~5 s), so a talk shorter than that has none. Asterisk's own labels are
crossed here: `all`'s `txmes` and `all_mes`'s `*rxmes` both hold the score of the stream Asterisk
*receives* from the leg (measured: with the customer's phone dropping packets only their leg's
score falls, tests/integration/test_analytics_live.py); this module reads `all_mes`'s average.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ALL, ALL_MES = "CHANNEL(rtcp,all)", "CHANNEL(rtcp,all_mes)"
VARIABLES = (ALL, ALL_MES)
POOR_MES = 70.0  # under this a leg's quality is poor (a call centre's usual bar is ~MOS 3.6)


@dataclass(frozen=True, slots=True)
class LegQuality:
    """What Asterisk measured of the audio it received from one leg."""

    mes: float | None  # average MES of the talk so far; None before the first RTCP report
    min_mes: float | None
    jitter_ms: float  # receive jitter
    lost: int  # packets lost in what Asterisk received, as of its last RTCP report
    received: int  # packets received (so the loss share reads a little low)
    rtt_ms: float  # round trip (needs the phone's RTCP reports; 0 without them)

    @property
    def loss_percent(self) -> float:
        total = self.lost + self.received
        return round(100.0 * self.lost / total, 2) if total else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "loss_percent": self.loss_percent}


def _fields(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for part in text.split(";"):
        key, _, value = part.strip().partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            continue
    return values


def leg_quality(variables: dict[str, str]) -> LegQuality | None:
    """The figures from the two variables' text; None when Asterisk gave none (no RTP)."""
    totals, mes = _fields(variables.get(ALL, "")), _fields(variables.get(ALL_MES, ""))
    if "rxcount" not in totals:
        return None
    average, least = mes.get("avgrxmes", 0.0), mes.get("minrxmes", 0.0)
    return LegQuality(
        mes=round(average, 1) if average > 0 else None,
        min_mes=round(least, 1) if average > 0 else None,
        jitter_ms=round(totals.get("rxjitter", 0.0) * 1000, 2),
        lost=int(totals.get("lp", 0.0)),
        received=int(totals.get("rxcount", 0.0)),
        rtt_ms=round(totals.get("rtt", 0.0) * 1000, 2),
    )
