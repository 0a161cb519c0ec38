"""What the web process may ask of the Stasis process: each interface is a protocol whose type
annotations drive the codec, the name in its URLs (`/rpc/<name>/<method>`), and the one
exception type its callers catch, rebuilt on the web side with the same code and message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pbx_stasis.recording.http import RecordingControl
from pbx_stasis.recording.recorder import RecordingError
from pbx_stasis.supervision.http import SupervisionControl
from pbx_stasis.supervision.service import SupervisionError
from pbx_stasis.web.services import ContactCenter, ServiceError, ServiceErrorCode

UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Interface:
    name: str
    protocol: Any  # the Protocol class; its methods are the only ones served
    error: type[Exception]  # with `code` and `message` (and maybe `field`) attributes
    rebuild: Callable[[str, str, str | None], Exception]  # (code, message, field) -> error

    def unavailable(self, message: str) -> Exception:
        """The error the web side gets when the Stasis process cannot answer (503)."""
        return self.rebuild(UNAVAILABLE, message, None)


def _service_error(code: str, message: str, field: str | None) -> Exception:
    return ServiceError(ServiceErrorCode(code), message, field)


def _supervision_error(code: str, message: str, field: str | None) -> Exception:
    return SupervisionError(code, message)


def _recording_error(code: str, message: str, field: str | None) -> Exception:
    return RecordingError(code, message)


CENTER = Interface("center", ContactCenter, ServiceError, _service_error)
SUPERVISION = Interface("supervision", SupervisionControl, SupervisionError, _supervision_error)
RECORDING = Interface("recording", RecordingControl, RecordingError, _recording_error)
INTERFACES = {interface.name: interface for interface in (CENTER, SUPERVISION, RECORDING)}
