"""The callback node: it asks for a callback to the caller's number through a queue (now or after
a delay) and goes on when it is taken, or to its failure path when it is refused."""

from __future__ import annotations

import pytest
from ivr_testing import Call, one_flow

from pbx_stasis.ivr.core import CallbackRefused, CallbackTaken, Hangup, RequestCallback
from pbx_stasis.ivr.errors import FlowSetInvalid

CALLBACK = """
    cb:
      kind: callback
      queue: "support_${language}"
      delay: 3600
      next: thanks
      on_failure: sorry
    thanks: {kind: hangup}
    sorry: {kind: hangup, cause: congestion}
"""


def test_a_taken_callback_goes_on_to_next() -> None:
    call = Call(one_flow(CALLBACK))
    out = call.start()
    assert out[-1] == RequestCallback("support_en", 3600.0)
    call.feed(CallbackTaken("cb-1"))
    assert call.path() == [("cb", "taken"), ("thanks", "hangup")]
    assert call.journal("ivr.leave")[0]["callback"] == "cb-1"


def test_a_refused_callback_takes_the_failure_path() -> None:
    call = Call(one_flow(CALLBACK))
    call.start()
    out = call.feed(CallbackRefused("not_allowed"))
    assert out[-1] == Hangup("congestion")
    assert call.journal("ivr.leave")[0]["reason"] == "not_allowed"


def test_without_a_failure_path_a_refusal_goes_on_to_next_and_delay_is_optional() -> None:
    nodes = CALLBACK.replace("      delay: 3600\n", "").replace("      on_failure: sorry\n", "")
    call = Call(one_flow(nodes.replace("    sorry: {kind: hangup, cause: congestion}\n", "")))
    assert call.start()[-1] == RequestCallback("support_en", 0.0)
    call.feed(CallbackRefused("unknown_queue"))
    assert call.path()[-1] == ("thanks", "hangup")


def test_the_loader_names_a_bad_delay_and_a_missing_queue() -> None:
    with pytest.raises(FlowSetInvalid) as bad:
        one_flow(CALLBACK.replace("delay: 3600", "delay: -5").replace(
            '      queue: "support_${language}"\n', ""))
    text = str(bad.value)
    assert "callback node 'cb' is missing required field 'queue'" in text
    assert "delay must be a positive number of seconds, not -5" in text
