"""Queue settings as stored and sent over the API (plain JSON) <-> QueueConfig, field errors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from pbx_stasis.acd.model import (
    EmptyPolicy,
    EscalationStep,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    ServiceLevelMode,
    Strategy,
)


class SettingsInvalid(ValueError):
    """Field -> message for every bad setting."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


_NUMBERS = ("ring_timeout", "retry_delay", "wrapup", "service_level")
_OPTIONAL_NUMBERS = ("max_wait", "announce_every", "short_abandon")
_OPTIONAL_INTS = ("max_callers", "autopause_after", "max_penalty")
_ENUMS: dict[str, type[Strategy] | type[EmptyPolicy] | type[ServiceLevelMode]] = {
    "strategy": Strategy,
    "service_level_mode": ServiceLevelMode,
    "join_empty": EmptyPolicy,
    "leave_empty": EmptyPolicy,
}
KNOWN = {f.name for f in fields(QueueConfig)} - {"name"}


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a number")
    return float(value)


def queue_config(name: str, settings: Mapping[str, Any]) -> QueueConfig:
    """Build a QueueConfig, reporting every bad field (not just the first)."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    if not name or not name.replace("-", "").replace("_", "").isalnum() or len(name) > 100:
        problems["name"] = "letters, digits, - and _ only (1-100 characters)"
    for key, value in settings.items():
        try:
            if key not in KNOWN:
                raise ValueError(f"unknown setting (known: {', '.join(sorted(KNOWN))})")
            if key in _NUMBERS:
                values[key] = _number(value)
            elif key in _OPTIONAL_NUMBERS:
                values[key] = None if value is None else _number(value)
            elif key in _OPTIONAL_INTS:
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("must be a whole number or null")
                values[key] = value
            elif key in _ENUMS:
                enum = _ENUMS[key]
                if value not in {m.value for m in enum}:
                    raise ValueError(f"one of {', '.join(m.value for m in enum)}")
                values[key] = enum(value)
            elif key == "overflow":
                values[key] = _overflow(value)
            elif key == "escalation":
                values[key] = _escalation(value)
            elif key == "agent_order":
                if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
                    raise ValueError("must be a list of agent ids")
                values[key] = tuple(value)
            elif key in ("ring_in_use",):
                if not isinstance(value, bool):
                    raise ValueError("must be true or false")
                values[key] = value
            elif key in ("moh_class",):
                if not isinstance(value, str) or not value:
                    raise ValueError("must be a music on hold class name")
                values[key] = value
            elif key == "weight":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("must be a whole number")
                values[key] = value
        except ValueError as exc:
            problems[key] = str(exc)
    if problems:
        raise SettingsInvalid(problems)
    try:
        return QueueConfig(name=name, **values)
    except ValueError as exc:  # cross-field checks of QueueConfig itself
        raise SettingsInvalid({"settings": str(exc).split(": ", 1)[-1]}) from exc


def _overflow(value: Any) -> OverflowTarget | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"kind", "target"}:
        raise ValueError('must be {"kind": ..., "target": ...} or null')
    if value["kind"] not in {k.value for k in OverflowKind}:
        raise ValueError(f"kind must be one of {', '.join(k.value for k in OverflowKind)}")
    if not isinstance(value["target"], str):
        raise ValueError("target must be a string")
    return OverflowTarget(OverflowKind(value["kind"]), value["target"])


def _escalation(value: Any) -> tuple[EscalationStep, ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list of {after, relax, max_penalty}")
    steps = []
    for step in value:
        if (
            not isinstance(step, dict)
            or "after" not in step
            or set(step) - {"after", "relax", "max_penalty"}
        ):
            raise ValueError("each step is {after, relax?, max_penalty?}")
        steps.append(
            EscalationStep(
                after=_number(step["after"]),
                relax=int(step.get("relax", 0)),
                max_penalty=step.get("max_penalty"),
            )
        )
    return tuple(steps)


def queue_settings(config: QueueConfig) -> dict[str, Any]:
    """The JSON form of a QueueConfig (what the table and the API hold)."""
    out = asdict(config)
    out.pop("name")
    for key, value in list(out.items()):
        if isinstance(value, Strategy | EmptyPolicy | ServiceLevelMode):
            out[key] = value.value
    if config.overflow is not None:
        out["overflow"] = {"kind": config.overflow.kind.value, "target": config.overflow.target}
    out["escalation"] = [asdict(step) for step in config.escalation]
    out["agent_order"] = list(config.agent_order)
    return out
