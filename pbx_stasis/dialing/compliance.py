"""Compliance of an outbound dial: do-not-call lists, calling hours in the callee's own time zone,
and the attempts rules of list work (maximum attempts, retry delays per outcome). Pure, no IO:
the time, the do-not-call hit and the lead's attempts come in as arguments.

Judged in this order, the first rule that refuses decides:

1. `do-not-call`: the number is on the tenant's or the global do-not-call list (every purpose);
2. `calling-hours`: outside the tenant's calling hours in the callee's time zone (every purpose
   but a transfer, which continues a call the caller is on). The zone is the lead's own field
   when it has one, else every zone phonenumbers gives the number: a number whose country spans
   several zones (a mobile number of the US) is called only when it is within hours in all of
   them; a number phonenumbers knows no zone for takes the tenant's fallback zone;
3. `max-attempts` and `retry-delay`: for list work only (a task or a campaign's dial), the lead's
   attempts so far against the tenant's maximum and the delay its last outcome asks for.

An emergency number is never judged here: the dialling policy lets it through first.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as number_zones
from pydantic import Field, ValidationError, model_validator

from pbx_stasis.validation import UNIQUE, WHOLE, Model, Whole, field_errors, text


class Purpose(enum.StrEnum):
    """Why a number is dialled: which rules apply."""

    AGENT = "agent"  # an agent's own call: dialled from their phone or click-to-call
    TASK = "task"  # a call task (list work, a follow-up)
    CAMPAIGN = "campaign"  # a campaign's dial
    TRANSFER = "transfer"  # a caller handed over to an outside number (do-not-call only)


LIST_WORK = frozenset({Purpose.TASK, Purpose.CAMPAIGN})
# The outcomes of an unanswered attempt that have a retry delay of their own.
RETRY_OUTCOMES = ("busy", "no-answer", "machine")
UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers says of a number it knows no zone for
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ComplianceInvalid(ValueError):
    """Field -> message for every bad part of a tenant's compliance settings."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CallingHours:
    """When calls may reach a person, in their own time: from `start` (included) to `end`
    (excluded) on `days` (0 Monday .. 6 Sunday)."""

    start: time
    end: time
    days: frozenset[int] = frozenset(range(7))

    def contains(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def describe(self) -> str:
        days = ("every day" if len(self.days) == 7
                else ", ".join(DAYS[d] for d in sorted(self.days)))
        return f"{self.start:%H:%M}-{self.end:%H:%M} {days}"


@dataclass(frozen=True, slots=True)
class ComplianceRules:
    """A tenant's compliance settings. `hours` None: no calling hours (the default until an
    admin sets them); `fallback_zone`: the zone of a number phonenumbers knows none for;
    `region`: how national numbers of its lists are read; `retry_minutes`: the delay after
    an unanswered attempt, per outcome; `dnc_dispositions`: the dispositions that put the
    customer's number on the do-not-call list."""

    hours: CallingHours | None = None
    fallback_zone: str = "UTC"
    region: str = "US"
    max_attempts: int = 6
    retry_minutes: Mapping[str, int] = field(default_factory=lambda: {
        "busy": 15, "no-answer": 60, "machine": 240})
    # Dispositions that put the customer's number on the tenant's do-not-call list.
    dnc_dispositions: frozenset[str] = frozenset()
    # Callbacks one number may ask for in 24 hours (None: no cap).
    callback_daily_cap: int | None = None

    def retry_delay(self, outcome: str | None) -> timedelta:
        return timedelta(minutes=self.retry_minutes.get(outcome or "", 0))


@dataclass(frozen=True, slots=True)
class Attempts:
    """A lead's (or task's) attempts so far: how many, and the last one's outcome and time."""

    count: int = 0
    last_outcome: str | None = None
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DoNotCall:
    """The do-not-call entry a number is on: the tenant's list or the global one."""

    number: str
    scope: str  # "tenant" or "global"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Ruling:
    """What compliance says about one dial: `reason` a short code (`ok`, `do-not-call`,
    `calling-hours`, `max-attempts`, `retry-delay`), `message` the same for a person;
    `zones` the time zones judged; `retry_at` when a refused dial may be tried again (if
    known)."""

    allowed: bool
    reason: str
    message: str
    zones: tuple[str, ...] = ()
    retry_at: datetime | None = None

    def journal(self) -> dict[str, Any]:
        return {"rule": "compliance", "reason": self.reason, "message": self.message,
                "zones": list(self.zones),
                "retry_at": self.retry_at.isoformat() if self.retry_at else None}


def zones_for(number: str, *, field_zone: str | None, fallback: str) -> tuple[str, ...]:
    """The time zones a number may ring in: the lead's own field, else phonenumbers' zones of
    the number (geographic for fixed lines, the whole country for most mobiles), else
    `fallback`."""
    if field_zone:
        return (field_zone,)
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return (fallback,)
    zones = tuple(z for z in number_zones.time_zones_for_number(parsed) if z != UNKNOWN_ZONE)
    return zones or (fallback,)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def judge(number: str, *, rules: ComplianceRules, now: datetime, purpose: Purpose,
          do_not_call: DoNotCall | None = None, field_zone: str | None = None,
          attempts: Attempts | None = None) -> Ruling:
    """Whether `number` (E.164) may be dialled at `now` (aware) for `purpose`."""
    if do_not_call is not None:
        where = "the global" if do_not_call.scope == "global" else "your"
        why = f" ({do_not_call.reason})" if do_not_call.reason else ""
        return Ruling(False, "do-not-call", f"{number} is on {where} do-not-call list{why}")
    zones: tuple[str, ...] = ()
    if purpose is not Purpose.TRANSFER and rules.hours is not None:
        zones = zones_for(number, field_zone=field_zone, fallback=rules.fallback_zone)
        for name in zones:
            try:
                local = now.astimezone(_zone(name))
            except (ZoneInfoNotFoundError, ValueError):
                local = now.astimezone(_zone(rules.fallback_zone))
            if not rules.hours.contains(local):
                return Ruling(False, "calling-hours",
                              f"it is {local:%a %H:%M} in {name} for {number}: calls are "
                              f"allowed {rules.hours.describe()} in the callee's time",
                              zones)
    if purpose in LIST_WORK and attempts is not None:
        if attempts.count >= rules.max_attempts:
            return Ruling(False, "max-attempts",
                          f"{number} was tried {attempts.count} times (at most "
                          f"{rules.max_attempts})", zones)
        delay = rules.retry_delay(attempts.last_outcome)
        if attempts.last_at is not None and delay and now < attempts.last_at + delay:
            retry_at = attempts.last_at + delay
            return Ruling(False, "retry-delay",
                          f"{number} was {attempts.last_outcome} at {attempts.last_at:%H:%M} "
                          f"UTC: retry after {retry_at:%H:%M} UTC", zones, retry_at)
    return Ruling(True, "ok", f"{number} may be called now", zones)


CALLBACK_CAP_WINDOW = timedelta(hours=24)


def judge_callback(number: str, *, rules: ComplianceRules, asked: int) -> Ruling:
    """Whether `number` may ask for one more callback, having asked `asked` in the last
    CALLBACK_CAP_WINDOW (a waiting caller's key, an IVR node, the API)."""
    cap = rules.callback_daily_cap
    if cap is not None and asked >= cap:
        return Ruling(False, "callback-cap",
                      f"{number} asked for {asked} callbacks in the last 24 hours (at most "
                      f"{cap})")
    return Ruling(True, "ok", f"{number} may ask for a callback")


def next_try(outcome: str, *, attempts: int, rules: ComplianceRules,
             now: datetime) -> datetime | None:
    """When an unanswered attempt (`attempts` made so far, counting it) may be retried: now
    plus the outcome's delay, or None when the maximum is reached (no more tries)."""
    if attempts >= rules.max_attempts:
        return None
    return now + rules.retry_delay(outcome)


# --- settings as an admin writes them ------------------------------------------------------

CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
CLOCK_HINT = "must be a time of day written HH:MM (24 h)"
Clock = Annotated[str, text(min_length=1, max_length=5, pattern=CLOCK, hint=CLOCK_HINT)]
WeekDay = Annotated[str, text(min_length=3, max_length=3, pattern="|".join(DAYS),
                          hint="must be one of " + ", ".join(DAYS))]
Minutes = Annotated[Whole, Field(ge=0, le=60 * 24 * 30), WHOLE]


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str) -> bool:
    return name in _known_zones()


ZONE_HINT = "must be an IANA time zone, e.g. America/New_York"
ZoneName = Annotated[str, text(max_length=64, pattern=r"[A-Za-z0-9_+\-/]+", hint=ZONE_HINT)]


class HoursFields(Model):
    """Calling hours in the callee's own time."""

    start: Clock
    end: Clock
    days: Annotated[tuple[WeekDay, ...], Field(min_length=1, max_length=7), UNIQUE] = DAYS

    @model_validator(mode="after")
    def _ordered(self) -> HoursFields:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RetryFields(Model):
    """Minutes before an unanswered lead is tried again, per outcome."""

    busy: Minutes = 15
    no_answer: Annotated[Minutes, Field(alias="no-answer")] = 60
    machine: Minutes = 240


class ComplianceFields(Model):
    """A tenant's compliance settings (PUT /api/compliance/settings, `pbx dnc` reads them)."""

    hours: HoursFields | None = None
    fallback_zone: ZoneName = "UTC"
    region: Annotated[str, text(min_length=2, max_length=2, pattern="[A-Za-z]{2}",
                                hint="must be a two-letter country code, e.g. US")] = "US"
    max_attempts: Annotated[Whole, Field(ge=1, le=100), WHOLE] = 6
    retry_minutes: RetryFields = RetryFields()
    dnc_dispositions: Annotated[tuple[Annotated[str, text(max_length=100)], ...],
                                Field(max_length=50), UNIQUE] = ()
    callback_daily_cap: Annotated[Whole, Field(ge=1, le=100), WHOLE] | None = None


def checked_rules(given: Mapping[str, Any]) -> ComplianceRules:
    """Rules from their fields as written (the API's body, a table row); ComplianceInvalid
    names each bad field."""
    try:
        fields = ComplianceFields.model_validate(given)
    except ValidationError as exc:
        problems = field_errors(exc)
        # The "after" check of the hours reports at the object: name its field.
        raise ComplianceInvalid({("hours.end" if k == "hours" else k): v
                                 for k, v in problems.items()}) from None
    problems = {}
    if not known_zone(fields.fallback_zone):
        problems["fallback_zone"] = f"{fields.fallback_zone!r} {ZONE_HINT}"
    region = fields.region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        problems["region"] = f"unknown country code {region}"
    if problems:
        raise ComplianceInvalid(problems)
    hours = None
    if fields.hours is not None:
        hours = CallingHours(time.fromisoformat(fields.hours.start),
                             time.fromisoformat(fields.hours.end),
                             frozenset(DAYS.index(d) for d in fields.hours.days))
    retry = fields.retry_minutes
    return ComplianceRules(hours=hours, fallback_zone=fields.fallback_zone, region=region,
                           max_attempts=fields.max_attempts,
                           retry_minutes={"busy": retry.busy, "no-answer": retry.no_answer,
                                          "machine": retry.machine},
                           dnc_dispositions=frozenset(fields.dnc_dispositions),
                           callback_daily_cap=fields.callback_daily_cap)


def rules_json(rules: ComplianceRules) -> dict[str, Any]:
    """The rules as the API and the table write them (checked_rules reads them back)."""
    hours = None
    if rules.hours is not None:
        hours = {"start": f"{rules.hours.start:%H:%M}", "end": f"{rules.hours.end:%H:%M}",
                 "days": [DAYS[d] for d in sorted(rules.hours.days)]}
    return {"hours": hours, "fallback_zone": rules.fallback_zone, "region": rules.region,
            "max_attempts": rules.max_attempts, "retry_minutes": dict(rules.retry_minutes),
            "dnc_dispositions": sorted(rules.dnc_dispositions),
            "callback_daily_cap": rules.callback_daily_cap}

