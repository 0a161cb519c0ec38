"""`pbx` loads only what a command needs: `pbx --help` and `pbx check` on a wrong configuration
build the whole parser (every feature's cli.py) without the web side, the ORM or numpy; `pbx run`
alone loads the composition root. Structural (the modules a fresh interpreter holds), untimed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pbx_stasis
from pbx_stasis.features import FEATURES

REPO = Path(__file__).resolve().parents[3]
PACKAGE = Path(pbx_stasis.__file__).parent
# Runs `pbx ARGS` in-process and prints, on its last line, the modules it loaded.
PROBE = """
import json, sys
from pbx_stasis.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# What only `pbx run` (and the commands that talk to the database) may load.
HEAVY = ("aiohttp.web", "aiohttp.web_app", "numpy", "sqlalchemy.orm", "sqlalchemy.ext.asyncio",
         "pbx_stasis.plugins", "pbx_stasis.plugin", "pbx_stasis.web", "pbx_stasis.app")


def _pbx(*args: str, cwd: Path) -> tuple[int, set[str]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PBX_")},
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=True)
    last = json.loads(done.stdout.splitlines()[-1])
    return last["code"], set(last["modules"])


def _heavy(modules: set[str]) -> set[str]:
    """The heavy modules loaded, and any feature's web side (http, pages, plugin)."""
    found = {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}
    for feature in FEATURES:
        prefix = f"pbx_stasis.{feature}."
        found |= {m for m in modules if m.startswith(prefix)
                  and m.removeprefix(prefix).split(".")[0] in {"http", "pages", "plugin"}}
    return found


def test_pbx_help_loads_every_features_commands_and_no_web_side(tmp_path: Path) -> None:
    code, modules = _pbx("--help", cwd=tmp_path)
    assert code == 0
    with_commands = {f for f in FEATURES if (PACKAGE / f / "cli.py").is_file()}
    assert {f for f in FEATURES if f"pbx_stasis.{f}.cli" in modules} == with_commands
    assert _heavy(modules) == set()
    assert "sqlalchemy" not in modules


def test_pbx_check_on_a_wrong_configuration_loads_no_web_side(tmp_path: Path) -> None:
    config = tmp_path / "pbx.toml"
    config.write_text('[database]\nurl = "mysql://pbx@db/pbx"\n')
    code, modules = _pbx("--config", str(config), "check", cwd=tmp_path)
    assert code == 2
    assert _heavy(modules) == set()
