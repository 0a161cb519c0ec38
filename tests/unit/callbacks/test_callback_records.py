"""A callback's record follows the ACD's journal rows: what each row changes, and the ids."""

from __future__ import annotations

from pbx_stasis.callbacks.store import PREFIX, change_of, new_callback_id
from pbx_stasis.callbacks.tables import CallbackStatus

CB = new_callback_id()


def test_a_callback_id_is_a_call_ids_length_and_never_a_calls_own() -> None:
    assert len(CB) == 32 and CB.startswith(PREFIX)
    assert change_of("COMPLETECALLER", 0.0, "c" * 32, 1, "sales", 7, {}) is None


def test_a_waiting_callers_request_makes_the_record_with_their_arrival() -> None:
    change = change_of("CALLBACKREQ", 1000.0, "c" * 32, 1, "sales", None,
                       {"callback": CB, "number": "+14155550123", "wait": 40.0})
    assert change is not None and change.insert is not None
    row = change.insert
    assert (row.id, row.queue, row.number, row.status, row.origin_call_id) == (
        CB, "sales", "+14155550123", CallbackStatus.QUEUED, "c" * 32)
    assert row.due_at.timestamp() == 960.0  # the caller's own arrival: their place


def test_each_step_moves_the_status() -> None:
    def status(event: str, **data: object) -> object:
        change = change_of(event, 2000.0, CB, 1, "sales", 7, dict(data))
        assert change is not None
        return change.values.get("status")

    assert status("CALLBACKDIAL", attempt=1) == CallbackStatus.DIALLING
    assert status("CALLBACKCONNECT") == CallbackStatus.CONNECTED
    assert status("CALLBACKFAIL", reason="busy", final=False, retry_at=2300.0) == (
        CallbackStatus.QUEUED)
    assert status("CALLBACKFAIL", reason="no_answer", final=True) == CallbackStatus.FAILED
    assert status("CALLBACKCANCEL") == CallbackStatus.CANCELLED
    assert status("COMPLETEAGENT") == CallbackStatus.DONE
    retry = change_of("CALLBACKFAIL", 2000.0, CB, 1, "sales", 7,
                      {"reason": "busy", "final": False, "retry_at": 2300.0, "attempt": 1})
    assert retry is not None and retry.values["retry_at"].timestamp() == 2300.0
    assert retry.values["attempts"] == 1 and retry.values["last_result"] == "busy"
