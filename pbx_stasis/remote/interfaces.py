"""What the web process may ask of the Stasis process: each interface names a feature's service
protocol (declared once, in the feature's service.py), whose methods and type annotations drive
the generated proxy, the server's dispatch and the codec; the name in its URLs
(`/rpc/<name>/<method>`); and the one exception type its callers catch, rebuilt on the web side
with the same code and message. Adding a method to a protocol needs nothing here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pbx_stasis.center.service import ContactCenter
from pbx_stasis.recording.service import RecordingControl, RecordingError
from pbx_stasis.supervision.service import SupervisionControl, SupervisionError
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode

UNAVAILABLE = "unavailable"
P = TypeVar("P")


@dataclass(frozen=True)
class Interface(Generic[P]):
    """A service protocol `P` as the wire sees it."""

    name: str
    protocol: Any  # the Protocol class P; its public methods are the only ones served
    error: type[Exception]  # with `code` and `message` (and maybe `field`) attributes
    rebuild: Callable[[str, str, str | None], Exception]  # (code, message, field) -> error

    def unavailable(self, message: str) -> Exception:
        """The error the web side gets when the Stasis process cannot answer (503)."""
        return self.rebuild(UNAVAILABLE, message, None)


@dataclass(frozen=True)
class Offered(Generic[P]):
    """An implementation the Stasis process serves for `interface` (type-checked against its
    protocol where it is made)."""

    interface: Interface[P]
    implementation: P


def _service_error(code: str, message: str, field: str | None) -> Exception:
    return ServiceError(ServiceErrorCode(code), message, field)


def _supervision_error(code: str, message: str, field: str | None) -> Exception:
    return SupervisionError(code, message)


def _recording_error(code: str, message: str, field: str | None) -> Exception:
    return RecordingError(code, message)


CENTER: Interface[ContactCenter] = Interface(
    "center", ContactCenter, ServiceError, _service_error)
SUPERVISION: Interface[SupervisionControl] = Interface(
    "supervision", SupervisionControl, SupervisionError, _supervision_error)
RECORDING: Interface[RecordingControl] = Interface(
    "recording", RecordingControl, RecordingError, _recording_error)
INTERFACES: dict[str, Interface[Any]] = {
    interface.name: interface for interface in (CENTER, SUPERVISION, RECORDING)
}
