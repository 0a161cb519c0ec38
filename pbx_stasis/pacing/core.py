"""How many calls to place now, without IO: progressive (one per free agent) or predictive
(ahead of free agents, keeping the abandon rate at or under a target).

An abandon is a call answered by a person that no agent takes within `ABANDON_GRACE_S` (2 s,
the compliance figure): the caller hears the abandon message and is hung up. The pacer keeps a
rolling window of what its calls did (dialled, answered by a person, abandoned, handle times)
and, at each decision, places the largest number of calls whose expected abandons fit:

- the calls still ringing plus the new ones are each answered by a person with the measured
  connect rate `p` (a binomial count of answers);
- the agents who can take them are the free ones plus each busy agent with the measured
  probability that a call of their elapsed length ends within the time a call takes to be
  answered (from the window's own handle times: no distribution assumed);
- expected abandons E[max(0, answers - agents)] must stay within `target x expected answers`
  plus the window's unspent budget (`target x answered - abandoned`), and within nothing at all
  once the window has overspent it. So a run of bad luck is paid back by dialling closer to
  progressive, and a quiet stretch does not let the pacer burst.

Until the window holds `min_answers` answered calls, the pacer is progressive. Time comes in as
an argument; nothing here reads a clock or draws a random number.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import comb, sqrt

ABANDON_GRACE_S = 2.0  # answered by a person, no agent within this: an abandon
DEFAULT_TARGET = 0.03


class Mode(StrEnum):
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


class DialResult(StrEnum):
    """How a placed call ended its ringing: only PERSON counts as a connect."""

    PERSON = "person"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"


@dataclass(frozen=True)
class PacingSettings:
    mode: Mode = Mode.PREDICTIVE
    abandon_target: float = DEFAULT_TARGET  # of calls answered by a person
    window_s: float = 3600.0  # the rolling window the rates are measured over
    min_answers: int = 30  # answered calls in the window before dialling ahead
    max_lines_per_agent: float = 4.0  # calls ringing at once, per agent logged in
    safety: float = 0.8  # the share of the target each decision may spend
    recent_s: float = 600.0  # the connect rate is the last ten minutes' (it drifts by the hour)

    def __post_init__(self) -> None:
        if not 0.0 <= self.abandon_target < 1.0:
            raise ValueError("abandon_target: must be in [0, 1)")
        if self.window_s <= 0:
            raise ValueError("window_s: must be positive")
        if self.min_answers < 1:
            raise ValueError("min_answers: must be at least 1")
        if self.max_lines_per_agent < 1.0:
            raise ValueError("max_lines_per_agent: must be at least 1")
        if self.recent_s <= 0:
            raise ValueError("recent_s: must be positive")
        if not 0.0 < self.safety <= 1.0:
            raise ValueError("safety: must be in (0, 1]")


@dataclass(frozen=True)
class Floor:
    """The campaign's agents now: free ones, busy ones (seconds into their call and wrap-up),
    and the calls placed that are still ringing."""

    free: int
    busy_elapsed: Sequence[float] = ()
    ringing: int = 0


@dataclass(frozen=True)
class Rates:
    """What the window measured (for the dashboard and the benchmark)."""

    dialled: int
    answered: int
    abandoned: int
    connect_rate: float | None
    answer_delay_s: float | None
    handle_time_s: float | None

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0


class Pacer:
    """One campaign's pacing: feed it what its calls did, ask it how many to place."""

    def __init__(self, settings: PacingSettings) -> None:
        self.settings = settings
        self._dials: deque[tuple[float, DialResult, float]] = deque()  # (at, result, ring s)
        self._abandons: deque[float] = deque()
        self._handles: deque[tuple[float, float]] = deque()  # (at, seconds incl. wrap-up)
        self._handle_sorted: list[float] = []  # the same handle times, sorted (bisect)

    # --- what happened ---------------------------------------------------------------------

    def dial_ended(self, at: float, result: DialResult, ring_s: float) -> None:
        """A placed call stopped ringing: answered (by whom) or not."""
        self._dials.append((at, result, max(0.0, ring_s)))

    def abandoned(self, at: float) -> None:
        """A call answered by a person found no agent within the grace time."""
        self._abandons.append(at)

    def handled(self, at: float, seconds: float) -> None:
        """An agent finished a campaign call (talk and wrap-up)."""
        seconds = max(0.0, seconds)
        self._handles.append((at, seconds))
        insort(self._handle_sorted, seconds)

    # --- measurements ----------------------------------------------------------------------

    def rates(self, now: float) -> Rates:
        self._expire(now)
        answered = [ring for _, result, ring in self._dials if result is DialResult.PERSON]
        handles = [seconds for _, seconds in self._handles]
        return Rates(
            dialled=len(self._dials),
            answered=len(answered),
            abandoned=len(self._abandons),
            connect_rate=len(answered) / len(self._dials) if self._dials else None,
            answer_delay_s=sum(answered) / len(answered) if answered else None,
            handle_time_s=sum(handles) / len(handles) if handles else None,
        )

    # --- the decision ----------------------------------------------------------------------

    def calls_to_place(self, now: float, floor: Floor) -> int:
        """How many new calls to place now."""
        progressive = max(0, floor.free - floor.ringing)
        if self.settings.mode is Mode.PROGRESSIVE:
            return progressive
        rates = self.rates(now)
        if rates.answered < self.settings.min_answers or not rates.connect_rate:
            return progressive
        target = self.settings.abandon_target
        if rates.abandoned >= target * rates.answered:
            return progressive  # the window spent its abandons: pay them back at no risk
        # Spend less of the target as the window's own rate comes near it, more while it is low.
        spend = self.settings.safety * min(1.5, 2.0 * (1.0 - rates.abandon_rate / target))
        agents = max(1, floor.free + len(floor.busy_elapsed))
        limit = max(progressive, int(agents * self.settings.max_lines_per_agent) - floor.ringing)
        horizon = (rates.answer_delay_s or 0.0) + ABANDON_GRACE_S
        available = _poisson_binomial(
            [self._finish_probability(e, horizon) for e in floor.busy_elapsed], floor.free
        )
        p = self._recent_connect_rate(now)
        best = progressive
        for extra in range(progressive + 1, limit + 1):
            lines = floor.ringing + extra
            if _expected_overflow(lines, p, available) > spend * target * p * lines:
                break
            best = extra
        return best

    def _recent_connect_rate(self, now: float) -> float:
        """The connect rate of the last `recent_s`, pessimistic by one standard error: a rate
        that rises (after lunch) is seen late, and seeing it late costs abandons."""
        start = now - self.settings.recent_s
        recent = [result for at, result, _ in self._dials if at >= start]
        if len(recent) < self.settings.min_answers:
            recent = [result for _, result, _ in self._dials]
        n = len(recent)
        p = sum(1 for result in recent if result is DialResult.PERSON) / n
        return min(1.0, p + sqrt(p * (1.0 - p) / n))

    def _finish_probability(self, elapsed: float, within: float) -> float:
        """P(a call already `elapsed` long ends within `within` more), from the window's
        handle times; 0 when the window has none that long."""
        times = self._handle_sorted
        shorter = bisect_right(times, elapsed)
        longer = len(times) - shorter
        if not longer:
            return 0.0
        return (bisect_right(times, elapsed + within) - shorter) / longer

    def _expire(self, now: float) -> None:
        start = now - self.settings.window_s
        while self._dials and self._dials[0][0] < start:
            self._dials.popleft()
        while self._handles and self._handles[0][0] < start:
            _, seconds = self._handles.popleft()
            del self._handle_sorted[bisect_left(self._handle_sorted, seconds)]
        while self._abandons and self._abandons[0] < start:
            self._abandons.popleft()


def _poisson_binomial(probabilities: Sequence[float], certain: int) -> list[float]:
    """Distribution of `certain` plus one Bernoulli(p) per probability: index = count."""
    dist = [0.0] * certain + [1.0]
    for p in probabilities:
        if p <= 0.0:
            continue
        nxt = [0.0] * (len(dist) + 1)
        for k, mass in enumerate(dist):
            nxt[k] += mass * (1.0 - p)
            nxt[k + 1] += mass * p
        dist = nxt
    return dist


def _expected_overflow(lines: int, p: float, available: Sequence[float]) -> float:
    """E[max(0, answers - agents)], answers ~ Binomial(lines, p), agents ~ `available`."""
    # short(a) = sum over k < a of (a - k) P(agents = k) = a F(a-1) - G(a-1), with F and G the
    # running sums of P(k) and k P(k): one pass over the agents, one over the answers.
    cumulative, weighted = [0.0], [0.0]
    for k, mass in enumerate(available):
        cumulative.append(cumulative[-1] + mass)
        weighted.append(weighted[-1] + k * mass)
    top = len(available)
    expected = 0.0
    for answers in range(1, lines + 1):
        mass = comb(lines, answers) * p**answers * (1.0 - p) ** (lines - answers)
        below = min(answers, top)
        expected += mass * (answers * cumulative[below] - weighted[below])
    return expected
