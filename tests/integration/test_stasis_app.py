"""The Stasis app end to end: sipp calls the trunk, `pbx run` answers, greets, hangs up and
records the call; it survives Asterisk restarting; `pbx check` explains bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pbxproc import PbxProcess, calls_in, pbx_command
from ports import free_port
from sandbox import Sandbox, run_sipp

pytestmark = pytest.mark.integration


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    done = pbx_command(["migrate"], {"PBX_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    return {"PBX_DATABASE_URL": url}


def _events(journal: list[object]) -> list[str]:
    return [entry.event for entry in journal]  # type: ignore[attr-defined]


def test_call_is_answered_greeted_and_recorded(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = PbxProcess({**private_sandbox.app_env(), **db_env}, tmp_path / "pbx.log")
    try:
        app.wait_for_log("ARI events connected")
        result = run_sipp(
            "caller-waits-bye.xml",
            private_sandbox.sip_target,
            service="5551000",
            caller="+15551234567",
            timeout=20,
        )
        assert result.ok, result.describe()
    finally:
        assert app.terminate() == 0, app.log()

    [(record, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert record.direction == "inbound"
    assert record.from_number == "+15551234567"
    assert record.to_number == "5551000"
    assert record.status == "ended"
    assert record.answered_at is not None and record.ended_at is not None
    assert record.started_at <= record.answered_at <= record.ended_at
    assert record.hangup_cause == 16  # normal clearing: we hung up after the greeting
    assert _events(journal) == [
        "CALLSTART",
        "ANSWER",
        "PLAYBACK_START",
        "PLAYBACK_FINISHED",
        "CALLEND",
    ]
    assert journal[3].data["state"] == "done"
    assert journal[-1].data["by"] == "app"
    # hello-world lasts about 1.4 s: the call cannot have ended before it was played
    assert (record.ended_at - record.answered_at).total_seconds() > 1.0


def test_caller_hanging_up_mid_greeting_is_recorded(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = PbxProcess({**private_sandbox.app_env(), **db_env}, tmp_path / "pbx.log")
    try:
        app.wait_for_log("ARI events connected")
        result = run_sipp(
            "caller-hangs-up.xml", private_sandbox.sip_target, keys={"talk_ms": "300"}, timeout=20
        )
        assert result.ok, result.describe()
    finally:
        assert app.terminate() == 0, app.log()
    [(record, journal)] = calls_in(db_env["PBX_DATABASE_URL"])
    assert record.status == "ended"
    assert "PLAYBACK_FINISHED" not in _events(journal) or (
        journal[_events(journal).index("PLAYBACK_FINISHED")].data["state"] != "done"
    )
    assert journal[-1].event == "CALLEND" and journal[-1].data["by"] == "caller"


@pytest.fixture(scope="module")
def restartable() -> Sandbox:
    """An instance of its own, so restarting Asterisk disturbs no other test."""
    instance = Sandbox.for_instance(
        "restart", ari_port=8290, sip_port=5290, trunk_port=5291, rtp_range=(31000, 31999)
    )
    instance.start()
    yield instance  # type: ignore[misc]
    instance.stop()


def test_reconnects_after_asterisk_restart_without_duplicates(
    restartable: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    app = PbxProcess({**restartable.app_env(), **db_env}, tmp_path / "pbx.log")
    try:
        app.wait_for_log("ARI events connected")
        first = run_sipp("caller-waits-bye.xml", restartable.sip_target, timeout=20)
        assert first.ok, first.describe()
        restartable.restart()
        app.wait_for_log("ARI events connected", count=2, timeout=40)
        second = run_sipp("caller-waits-bye.xml", restartable.sip_target, timeout=20)
        assert second.ok, second.describe()
    finally:
        assert app.terminate() == 0, app.log()
    calls = calls_in(db_env["PBX_DATABASE_URL"])
    assert len(calls) == 2
    for record, journal in calls:
        assert record.status == "ended"
        assert _events(journal).count("CALLSTART") == 1
        assert _events(journal).count("CALLEND") == 1
    assert "Traceback" not in app.log()



def test_check_explains_each_bad_setting(
    private_sandbox: Sandbox, db_env: dict[str, str], tmp_path: Path
) -> None:
    # The tenant calls go to must exist (`pbx run` would create it empty).
    no_tenant = pbx_command(["check"], {**private_sandbox.app_env(), **db_env})
    assert no_tenant.returncode == 1
    assert "calls.tenant (PBX_TENANT) 'default': no such tenant" in no_tenant.stderr
    assert no_tenant.stderr.count("problem:") == 1, no_tenant.stderr
    added = pbx_command(["user", "add", "boss", "--role", "admin"], db_env)
    assert added.returncode == 0, added.stderr
    good = pbx_command(["check"], {**private_sandbox.app_env(), **db_env})
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("ok:")

    wrong_password = pbx_command(
        ["check"], {**private_sandbox.app_env(), **db_env, "PBX_ARI_PASSWORD": "wrong"}
    )
    assert wrong_password.returncode == 1
    assert "401" in wrong_password.stderr and "PBX_ARI_PASSWORD" in wrong_password.stderr

    unreachable = pbx_command(
        ["check"],
        {**private_sandbox.app_env(), **db_env, "PBX_ARI_URL": f"http://127.0.0.1:{free_port()}"},
    )
    assert unreachable.returncode == 1
    assert "ari.url" in unreachable.stderr

    bad_db = pbx_command(
        ["check"], {**private_sandbox.app_env(), "PBX_DATABASE_URL": "mysql://x/y"}
    )
    assert bad_db.returncode == 2
    assert "PBX_DATABASE_URL" in bad_db.stderr and "postgresql+asyncpg" in bad_db.stderr

    no_db = pbx_command(
        ["check"],
        {
            **private_sandbox.app_env(),
            "PBX_DATABASE_URL": f"postgresql+asyncpg://x:y@127.0.0.1:{free_port()}/db",
        },
    )
    assert no_db.returncode == 1
    assert "cannot reach the database" in no_db.stderr

    # A module the app needs, unloaded: named, with what it is for.
    private_sandbox.ari("DELETE", "asterisk/modules/res_ari_sounds.so")
    try:
        no_sounds_api = pbx_command(["check"], {**private_sandbox.app_env(), **db_env})
    finally:
        private_sandbox.ari("POST", "asterisk/modules/res_ari_sounds.so")
    assert no_sounds_api.returncode == 1
    assert "res_ari_sounds.so is not running" in no_sounds_api.stderr, no_sounds_api.stderr
    assert no_sounds_api.stderr.count("problem:") == 1, no_sounds_api.stderr  # nothing else

    config = tmp_path / "pbx.toml"
    config.write_text("[ari\nurl=1\n")
    malformed = pbx_command(["check"], {**db_env, "PBX_CONFIG": str(config)})
    assert malformed.returncode == 2
    assert str(config) in malformed.stderr and "TOML" in malformed.stderr
    for result in (wrong_password, unreachable, bad_db, no_db, no_sounds_api, malformed):
        assert "Traceback" not in result.stderr


def test_run_keeps_retrying_ari_and_says_why(db_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    app = PbxProcess(
        {**db_env, "PBX_ARI_URL": f"http://127.0.0.1:{port}", "PBX_ARI_PASSWORD": "x"},
        tmp_path / "pbx.log", ["-v", "run"],  # -v: the retries after the first warning too
    )
    try:
        app.wait_for_log(f"127.0.0.1:{port}", timeout=10)
        # Each socket (events, 3 request-only) warns once, then retries at debug level.
        app.wait_for_log("reconnecting in", count=12, timeout=15)
        assert app.proc.poll() is None, "pbx run must keep retrying, not exit"
        warned = [line for line in app.log().splitlines()
                  if "WARNING" in line and "reconnecting in" in line]
        assert len(warned) == 4, warned
    finally:
        assert app.terminate() == 0, app.log()
