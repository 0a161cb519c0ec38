"""Stopping the transcription pool ends a decode in progress: the app's exit does not wait for
a decoder at idle priority (it once outlasted the demo's 20 s Ctrl-C grace on a busy machine,
and the demo was killed)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.unit

# A process that starts a decode lasting 60 s, stops the pool and exits.
SCRIPT = """
import time
from pbx_stasis.analytics.worker import decoder_pool, stop_pool

pool = decoder_pool(idle=False)
decode = pool.submit(time.sleep, 60)
deadline = time.monotonic() + 60
while not decode.running() and time.monotonic() < deadline:
    time.sleep(0.05)
assert decode.running()
print("decoding", flush=True)
stop_pool(pool)
"""


def test_the_process_exits_without_waiting_for_the_decode() -> None:
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "decoding\n"
    decoding = time.monotonic()
    try:
        assert process.wait(40) == 0
    finally:
        process.kill()
    assert time.monotonic() - decoding < 40  # the decode alone lasts 60 s
