"""What every feature's service shares with the HTTP layer: the one error a service refuses
with (ServiceError, answered by the route table with its status) and the JSON form of the
values services return (`to_json`). Part of the kernel: features import it, it imports none."""

from __future__ import annotations

import enum
from dataclasses import asdict
from datetime import datetime
from typing import Any


class ServiceErrorCode(enum.StrEnum):
    """Why a service refused; the route table maps each to an HTTP status."""

    NOT_FOUND = "not-found"  # 404: no such call / agent / queue / flow in this tenant
    CONFLICT = "conflict"  # 409: not possible in the current state (hold a call not answered)
    INVALID = "invalid"  # 400: a value is wrong; `field` names it when known
    FORBIDDEN = "forbidden"  # 403: the user may not do this (not their call)
    UNAVAILABLE = "unavailable"  # 503: Asterisk is not reachable right now


class ServiceError(Exception):
    """The one error type of the ACD's and the IVR's services (AcdControl, FlowControl);
    `message` is shown to the person as is."""

    def __init__(self, code: ServiceErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def rebuild(cls, code: str, message: str, field: str | None) -> ServiceError:
        """The error again from its code, message and field (a split deployment's wire)."""
        return cls(ServiceErrorCode(code), message, field)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def to_json(value: Any) -> dict[str, Any]:
    """A service's dataclass value as a JSON-ready dict (datetimes ISO 8601, enums by value)."""
    result: dict[str, Any] = _json_value(asdict(value))
    return result
