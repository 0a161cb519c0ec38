"""Run the real `pbx` command as a subprocess against a sandbox, and read what it stored."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from polling import wait_until

from pbx_stasis.store import CallJournal, CallRecord, CallRecords, Database, JournalEntry

PBX = str(Path(sys.executable).with_name("pbx"))
# The tree these tests belong to comes first on the command's path: the venv's `pbx` may be an
# editable install of another checkout (a worktree's tests must run the worktree's code).
REPO = Path(__file__).resolve().parents[2]


def _this_tree(env: Mapping[str, str]) -> dict[str, str]:
    path = [str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "PYTHONPATH": os.pathsep.join(path)}


def pbx_command(
    args: list[str], env: Mapping[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run a short `pbx` command to completion."""
    return subprocess.run(
        [PBX, *args],
        env=_this_tree({**os.environ, **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Several `pbx` commands in one process: the CLI's own main() on each argv in turn, each with
# its own stdout, stderr and exit status (an exception is a traceback on stderr and status 1,
# as from the `pbx` script). Importing the CLI (every feature's commands) costs 2-4 s of CPU:
# a harness that sets up a database with eight commands pays it once.
_BATCH = """
import contextlib, io, json, logging, sys, traceback
from pbx_stasis.cli.main import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    logging.root.handlers.clear()  # each command logs to its own stderr (main's basicConfig)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
    if code != 0:
        break
print(json.dumps(results))
"""


def pbx_commands(
    commands: Sequence[Sequence[str]], env: Mapping[str, str], timeout: float = 120.0
) -> list[subprocess.CompletedProcess[str]]:
    """Run `pbx` commands one after the other in one process, up to the first that fails;
    what each one gave, as pbx_command would."""
    done = subprocess.run(
        [sys.executable, "-c", _BATCH, json.dumps([list(argv) for argv in commands])],
        env=_this_tree({**os.environ, **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"the pbx commands' runner failed:\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert lines, done.stderr
    return [
        subprocess.CompletedProcess([PBX, *argv], result["code"], result["stdout"],
                                    result["stderr"])
        for argv, result in zip(commands, json.loads(lines[-1]), strict=False)
    ]


class PbxProcess:
    """`pbx run` (or `command`, e.g. scripts/demo) in the background, its output captured to a
    log file."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        args: list[str] | None = None,
        *,
        command: Sequence[str] | None = None,
    ) -> None:
        self.env = _this_tree({**os.environ, "PBX_WEB_ENABLED": "false", **env})
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            list(command or [PBX, *(args or ["run"])]), env=self.env, stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0, count: int = 1) -> None:
        def logged() -> bool:
            if self.log().count(text) >= count:
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"pbx run exited {self.proc.returncode}:\n{self.log()}")
            return False

        try:
            wait_until(logged, within=timeout)
        except AssertionError as late:
            if self.proc.poll() is not None:
                raise
            raise AssertionError(
                f"{text!r} (x{count}) not in pbx log after {timeout}s:\n{self.log()}") from late

    def terminate(self, timeout: float = 15.0, how: signal.Signals = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(how)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


async def read_calls(url: str) -> list[tuple[CallRecord, list[JournalEntry]]]:
    """Every call record with its journal lines, oldest call first."""
    db = Database.connect(url)
    try:
        records = CallRecords(db)
        journal = CallJournal(db)
        from sqlalchemy import select

        from pbx_stasis.store.tables import Call

        async with db.session() as session:
            ids = list(await session.scalars(select(Call.id).order_by(Call.started_at)))
        out = []
        for call_id in ids:
            record = await records.get(call_id)
            assert record is not None
            out.append((record, await journal.events_for_call(call_id)))
        return out
    finally:
        await db.dispose()


def calls_in(url: str) -> list[tuple[CallRecord, list[JournalEntry]]]:
    return asyncio.run(read_calls(url))
