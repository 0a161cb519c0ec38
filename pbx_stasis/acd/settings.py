"""A queue's name and settings: the one schema the API, `pbx queue set` and the database rows go
through (pydantic), <-> QueueConfig, with one message per bad field.

The rule is the API's (it was the strictest of the copies, documented in the OpenAPI document
and fuzzed): names are 1-64 lowercase letters, digits, - or _ and never `stats`; every time and
count has bounds, so no stored value can overflow what the ACD computes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, fields
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from pbx_stasis.acd.model import (
    EmptyPolicy,
    EscalationStep,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    ServiceLevelMode,
    Strategy,
)
from pbx_stasis.dialing.caller_ids import CallerIdNumber
from pbx_stasis.store import accounts
from pbx_stasis.validation import WHOLE, Model, Number, Whole, field_errors, text


class SettingsInvalid(ValueError):
    """Field -> message for every bad setting."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


# Not "stats": /api/queues/stats is the live figures' path, so PUT /api/queues/stats could
# never reach a queue of that name (routing.router_path).
NAME = r"(?!stats$)[a-z0-9][a-z0-9_\-]{0,63}"
NAME_HINT = ("must be 1-64 lowercase letters, digits, - or _, starting with a letter or digit "
             "(not stats)")
QueueName = Annotated[str, text(max_length=64, pattern=NAME, hint=NAME_HINT)]
AgentId = Annotated[str, text(max_length=64)]
Penalty = Annotated[Whole, Field(ge=0, le=1000), WHOLE]
_DEFAULTS: dict[str, Any] = {
    item.name: item.default for item in fields(QueueConfig) if item.default is not MISSING
}


def _unique(agents: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for agent in agents:
        if agent in seen:
            raise ValueError(f"{agent[:64]!r} is a duplicate")
        seen.add(agent)
    return agents


class Overflow(Model):
    """Where a call goes when its queue cannot serve it."""

    kind: OverflowKind
    target: Annotated[str, text()]


class Escalation(Model):
    """From `after` seconds of waiting, the requirement a call's agents must meet."""

    after: Annotated[Number, Field(ge=0, le=86400)]
    relax: Annotated[Whole, Field(ge=0, le=100), WHOLE] = 0
    max_penalty: Penalty | None = None


class QueueSettings(Model):
    """A queue's settings; fields left out take the ACD's defaults (QueueConfig's)."""

    strategy: Strategy = _DEFAULTS["strategy"]
    ring_timeout: Annotated[
        Number, Field(ge=1, le=600, description="seconds an offer rings")
    ] = _DEFAULTS["ring_timeout"]
    retry_delay: Annotated[Number, Field(ge=0, le=600)] = _DEFAULTS["retry_delay"]
    max_wait: Annotated[Number, Field(ge=1, le=86400)] | None = Field(
        default=_DEFAULTS["max_wait"], description="null: no limit"
    )
    overflow: Overflow | None = _DEFAULTS["overflow"]
    max_callers: Annotated[Whole, Field(ge=1, le=100_000), WHOLE] | None = _DEFAULTS["max_callers"]
    join_empty: EmptyPolicy = _DEFAULTS["join_empty"]
    leave_empty: EmptyPolicy = _DEFAULTS["leave_empty"]
    wrapup: Annotated[
        Number, Field(ge=0, le=3600, description="seconds of wrap-up after a call")
    ] = _DEFAULTS["wrapup"]
    autopause_after: Annotated[Whole, Field(ge=1, le=100), WHOLE] | None = (
        _DEFAULTS["autopause_after"]
    )
    ring_in_use: Annotated[bool, Field(strict=True)] = _DEFAULTS["ring_in_use"]
    moh_class: Annotated[str, text(max_length=64, pattern=r"[A-Za-z0-9_\-]+")] = (
        _DEFAULTS["moh_class"]
    )
    announce_every: Annotated[Number, Field(ge=10, le=3600)] | None = _DEFAULTS["announce_every"]
    max_penalty: Penalty | None = _DEFAULTS["max_penalty"]
    escalation: Annotated[tuple[Escalation, ...], Field(max_length=20)] = ()
    agent_order: Annotated[
        tuple[AgentId, ...],
        Field(max_length=1000, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_unique),
    ] = ()
    weight: Annotated[Whole, Field(ge=-1000, le=1000), WHOLE] = _DEFAULTS["weight"]
    service_level: Annotated[Number, Field(ge=1, le=3600)] = _DEFAULTS["service_level"]
    # Which service level the queue shows, and the abandons it may leave out (docs/figures.md).
    service_level_mode: ServiceLevelMode = _DEFAULTS["service_level_mode"]
    short_abandon: Annotated[Number, Field(ge=0, le=3600)] | None = Field(
        default=_DEFAULTS["short_abandon"], description="null: the service level threshold"
    )
    caller_id: CallerIdNumber | None = Field(
        default=_DEFAULTS["caller_id"],
        description="one of the tenant's outbound numbers, presented when a call of this queue "
                    "is transferred to an outside number (null: the caller's own)")
    callback_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] | None = Field(
        default=_DEFAULTS["callback_key"],
        description="the key a waiting caller presses to be called back, offered in the "
                    "announcements (null: not offered)")
    callback_attempts: Annotated[Whole, Field(ge=1, le=10), WHOLE] = (
        _DEFAULTS["callback_attempts"]
    )
    callback_retry_delay: Annotated[Number, Field(
        ge=0, le=86400, description="seconds before a busy or unanswered callback is dialled again"
    )] = _DEFAULTS["callback_retry_delay"]

    def config(self, name: str) -> QueueConfig:
        """The ACD's QueueConfig; SettingsInvalid when the fields disagree with each other."""
        values: dict[str, Any] = {key: getattr(self, key) for key in type(self).model_fields}
        values["overflow"] = (
            None if self.overflow is None
            else OverflowTarget(self.overflow.kind, self.overflow.target)
        )
        values["escalation"] = tuple(
            EscalationStep(after=step.after, relax=step.relax, max_penalty=step.max_penalty)
            for step in self.escalation
        )
        values["agent_order"] = tuple(self.agent_order)
        try:
            return QueueConfig(name=name, **values)
        except ValueError as exc:
            # QueueConfig's own consistency checks ("escalation steps must be in increasing
            # after"), reported on the field they are about.
            message = str(exc).removeprefix(f"queue {name}: ")
            field = next((key for key in values if message.startswith(key)), "settings")
            raise SettingsInvalid({field: message}) from None


class NewQueue(QueueSettings):
    """A queue to create: its name and its settings."""

    name: QueueName


class _Named(Model):
    name: QueueName


def queue_config(name: str, settings: Mapping[str, Any]) -> QueueConfig:
    """Check a queue's name and settings (every bad field, not just the first) and build its
    QueueConfig; SettingsInvalid names each bad field."""
    problems: dict[str, str] = {}
    try:
        _Named.model_validate({"name": name})
    except ValidationError as exc:
        problems.update(field_errors(exc))
    checked: QueueSettings | None = None
    try:
        checked = QueueSettings.model_validate(settings)
    except ValidationError as exc:
        problems.update(field_errors(exc, root="settings"))
    if problems or checked is None:
        raise SettingsInvalid(problems)
    return checked.config(name.strip())


SkillName = Annotated[str, text(
    max_length=64, pattern=r"[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,63}",
    hint="names are 1-64 letters, digits, spaces, . _ -",
)]
Skills = Annotated[
    dict[SkillName, Annotated[Whole, Field(ge=0, le=100), WHOLE]],
    Field(max_length=50, description="skill name -> level"),
]


def _contact(text: str) -> str:
    if text:  # "" goes back to the softphone
        try:
            accounts.contact(text)
        except accounts.AccountInvalid as exc:
            raise ValueError(exc.problem) from None
    return text


class AgentSettings(Model):
    """What makes a user an agent, as `pbx agent set`, the admin's agent page and the stored
    row give it: each field None keeps what is stored."""

    skills: Skills | None = None
    queues: Annotated[dict[QueueName, Penalty], Field(max_length=200)] | None = Field(
        default=None, description="queue -> penalty (lower tiers are offered calls first)")
    wrapup: Annotated[Number, Field(ge=0, le=3600)] | None = Field(
        default=None, description="seconds of wrap-up, instead of the queue's")
    contact: Annotated[str, Field(max_length=accounts.MAX_CONTACT_LENGTH),
                       AfterValidator(_contact)] | None = None


class AgentProfileFields(Model):
    """An agent's skills and queues, as the admin's agent page sets them."""

    skills: Skills
    queues: Annotated[tuple[QueueName, ...], Field(
        max_length=200, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)]


def agent_settings(**given: Any) -> AgentSettings:
    """The checked settings of an agent; SettingsInvalid names each bad field."""
    try:
        return AgentSettings.model_validate(given)
    except ValidationError as exc:
        raise SettingsInvalid(field_errors(exc)) from None


def queue_settings(config: QueueConfig) -> dict[str, Any]:
    """The JSON form of a QueueConfig (what the table and the API hold)."""
    out = asdict(config)
    out.pop("name")
    for key, value in list(out.items()):
        if isinstance(value, Strategy | EmptyPolicy):
            out[key] = value.value
    if config.overflow is not None:
        out["overflow"] = {"kind": config.overflow.kind.value, "target": config.overflow.target}
    out["escalation"] = [asdict(step) for step in config.escalation]
    out["agent_order"] = list(config.agent_order)
    return out
