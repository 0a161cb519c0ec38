"""In-memory implementations of supervision.service.SupervisionControl and
recording.service.RecordingControl that note what they are asked, for tests of the wire."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pbx_stasis.acd.runner import Talk
from pbx_stasis.recording.service import LiveRecordingView, RecordingError, RecordingState
from pbx_stasis.supervision.audit import SegmentRecord
from pbx_stasis.supervision.core import Mode
from pbx_stasis.supervision.service import SessionView, SupervisedCall, SupervisionError, Switched
from pbx_stasis.web.contract import ServiceErrorCode

SECRET = "s3cret-for-tests"
TENANT = 3
CALL = "c" * 32
SINCE = datetime(2026, 5, 4, 10, 11, 12, 345678, tzinfo=UTC)
TALK = Talk(CALL, TENANT, "sales", f"q-{CALL}", "caller-chan", "agent-chan", 17, "+14155550101")


def session_view(mode: Mode | None, supervisor_user_id: int | None = 9) -> SessionView:
    return SessionView("s1", TENANT, CALL, supervisor_user_id, "PJSIP/phone-9", 17, mode, SINCE)


@dataclass
class NotedSupervision:
    """SupervisionControl that notes its calls; `refuse` makes the next call raise."""

    asked: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    refuse: SupervisionError | None = None

    def _note(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.asked.append((method, args, kwargs))
        if self.refuse is not None:
            raise self.refuse

    async def supervised_calls(self, tenant_id: int) -> list[SupervisedCall]:
        self._note("supervised_calls", tenant_id)
        return [SupervisedCall(TALK, SINCE, [session_view(Mode.WHISPER)]),
                SupervisedCall(TALK, None, [])]

    async def sessions(self, tenant_id: int, call_id: str | None = None) -> list[SessionView]:
        self._note("sessions", tenant_id, call_id)
        return [session_view(None, supervisor_user_id=None)]

    async def session(self, tenant_id: int, session_id: str) -> SessionView:
        self._note("session", tenant_id, session_id)
        return session_view(Mode.LISTEN)

    async def talk(self, tenant_id: int, call_id: str) -> Talk | None:
        self._note("talk", tenant_id, call_id)
        return replace(TALK, tenant_id=tenant_id) if call_id == CALL else None

    async def start(self, tenant_id: int, call_id: str, line: str, mode: Mode, *,
                    supervisor_user_id: int | None = None) -> SessionView:
        self._note("start", tenant_id, call_id, line, mode,
                   supervisor_user_id=supervisor_user_id)
        return session_view(mode, supervisor_user_id)

    async def switch(self, session_id: str, mode: Mode, *,
                     tenant_id: int | None = None) -> Switched:
        self._note("switch", session_id, mode, tenant_id=tenant_id)
        return Switched(session_view(mode), 0.0042)

    async def stop(self, session_id: str, *, tenant_id: int | None = None) -> None:
        self._note("stop", session_id, tenant_id=tenant_id)

    async def history(self, tenant_id: int, *, call_id: str | None = None,
                      limit: int = 100) -> list[SegmentRecord]:
        self._note("history", tenant_id, call_id=call_id, limit=limit)
        return [SegmentRecord(5, "s1", TENANT, CALL, 9, "PJSIP/phone-9", 17, "barge", SINCE,
                              None, None)]


@dataclass
class NotedRecorder:
    """RecordingControl that notes its calls; `refuse` makes the next call raise."""

    asked: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    refuse: RecordingError | None = None

    def _view(self, state: RecordingState) -> LiveRecordingView:
        return LiveRecordingView(CALL, state, "on-demand", False, 12.5, 1.5)

    def _note(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.asked.append((method, args, kwargs))
        if self.refuse is not None:
            raise self.refuse

    async def talk(self, tenant_id: int, call_id: str) -> Talk:
        self._note("talk", tenant_id, call_id)
        if call_id != CALL:
            raise RecordingError(ServiceErrorCode.NOT_FOUND, "no such call connected to an agent")
        return replace(TALK, tenant_id=tenant_id)

    async def state(self, tenant_id: int, call_id: str) -> LiveRecordingView:
        self._note("state", tenant_id, call_id)
        return self._view(RecordingState.OFF)

    async def start(self, tenant_id: int, call_id: str, *,
                    by_user_id: int | None = None) -> LiveRecordingView:
        self._note("start", tenant_id, call_id, by_user_id=by_user_id)
        return self._view(RecordingState.RECORDING)

    async def pause(self, tenant_id: int, call_id: str, *,
                    by_user_id: int | None = None) -> LiveRecordingView:
        self._note("pause", tenant_id, call_id, by_user_id=by_user_id)
        return self._view(RecordingState.PAUSED)

    async def resume(self, tenant_id: int, call_id: str, *,
                     by_user_id: int | None = None) -> LiveRecordingView:
        self._note("resume", tenant_id, call_id, by_user_id=by_user_id)
        return self._view(RecordingState.RECORDING)
