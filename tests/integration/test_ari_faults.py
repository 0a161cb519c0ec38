"""Faults on the ARI connection of a real `pbx run` (tests/integration/faults_ari.py cuts or
silences it): a silent socket is found within seconds, and calls that arrive while the app is
away are served once it is back, never hung up as leftovers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_ari import AriProxy
from pbxproc import PbxProcess, calls_in, pbx_command
from sandbox import Sandbox, SippResult, run_sipp

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

GREETED = ["CALLSTART", "ANSWER", "PLAYBACK_START", "PLAYBACK_FINISHED", "CALLEND"]


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    done = pbx_command(["migrate"], {"PBX_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    return {"PBX_DATABASE_URL": url}


@pytest.fixture
def proxy(private_sandbox: Sandbox) -> Iterator[AriProxy]:
    with AriProxy(private_sandbox.ari_url) as instance:
        yield instance


def _app(sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], log: Path) -> PbxProcess:
    env = {**sandbox.app_env(), "PBX_ARI_URL": proxy.url, **db_env,
           "PYTHONPATH": str(REPO)}  # this checkout's code, whatever the venv installed
    app = PbxProcess(env, log)
    app.wait_for_log("ARI events connected")
    return app


def _call_in_background(sandbox: Sandbox, results: list[SippResult]) -> threading.Thread:
    def call() -> None:
        results.append(run_sipp("caller-waits-bye.xml", sandbox.sip_target, service="5551000",
                                timeout=25))

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_silent_socket_is_dropped_within_seconds_and_its_calls_are_served(
    private_sandbox: Sandbox, proxy: AriProxy, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = _app(private_sandbox, proxy, db_env, tmp_path / "pbx.log")
    results: list[SippResult] = []
    try:
        proxy.silence(5.0)
        silent_at = time.monotonic()
        time.sleep(0.3)
        # Asterisk still holds the app (its socket looks fine): the call enters Stasis and its
        # StasisStart goes into the black hole.
        caller = _call_in_background(private_sandbox, results)
        app.wait_for_log("No PONG", timeout=4.5)
        detected = time.monotonic() - silent_at
        assert proxy.silent, f"the silent socket was only noticed after {detected:.1f} s"
        caller.join(30)
        assert results and results[0].ok, results[0].describe() if results else "no sipp"
    finally:
        assert app.terminate() == 0, app.log()
    [(record, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert [entry.event for entry in journal] == GREETED, app.log()
    assert record.status == "ended" and record.answered_at is not None
    print(f"silent socket detected after {detected:.2f} s")
