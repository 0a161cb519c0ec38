"""Hostile settings (hostile_configs.py) give one-line errors naming the setting, within a time
bound, never a traceback or a secret: through the loader, and through `pbx check` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_configs import CASES, SECRET, Hostile

from pbx_stasis.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[3]
# Generous, and of CPU for the loader (time.process_time: what it costs, however busy the machine):
# the point is "no hang, no blow-up".
LOADER_SECONDS = 2.0
PROCESS_SECONDS = 30.0
IDS = [case.name for case in CASES]


def _place(case: Hostile, tmp_path: Path) -> dict[str, bytes]:
    """The case's environment, with PBX_CONFIG pointing at its pbx.toml when it has one."""
    env = dict(case.env)
    if case.toml is not None:
        path = tmp_path / "pbx.toml"
        path.write_bytes(case.toml)
        env["PBX_CONFIG"] = os.fsencode(path)
    return env


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30 and len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_loader_names_each_problem_in_one_line(
    case: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./pbx.toml
    environ = {name: os.fsdecode(value) for name, value in _place(case, tmp_path).items()}
    started = time.process_time()
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ=environ)
    assert time.process_time() - started < LOADER_SECONDS
    problems = caught.value.problems
    assert any(case.says in problem for problem in problems), problems
    for problem in problems:
        assert "\n" not in problem and "\r" not in problem and len(problem) < 400, problem
        assert SECRET not in problem, problem


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pbx_check_says_what_is_wrong_and_stops(case: Hostile, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environb.items() if not k.startswith(b"PBX_")},
        # this tree's code, whichever checkout the virtualenv was installed from
        b"PYTHONPATH": os.fsencode(REPO),
        **{name.encode(): value for name, value in _place(case, tmp_path).items()},
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pbx_stasis.cli.main", "check"],
        env=env, cwd=tmp_path, capture_output=True, timeout=PROCESS_SECONDS, check=False,
    )
    elapsed = time.monotonic() - started
    err = done.stderr.decode("utf-8", "backslashreplace")
    assert done.returncode == 2, err
    assert elapsed < PROCESS_SECONDS
    lines = err.splitlines()
    assert lines and all(line.startswith("config error: ") for line in lines), err
    assert any(case.says in line for line in lines), err
    assert "Traceback" not in err and SECRET not in err + done.stdout.decode(errors="replace")
