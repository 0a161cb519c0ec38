"""A throwaway PostgreSQL server for the test session: real server, temp dir, 127.0.0.1 only.

Uses Debian's server binaries (apt-get install postgresql); the packaged cluster is not touched.
PostgreSQL refuses to run as root, so under root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ports import free_port

SUPERUSER = "pbx"
INSTALL_HINT = (
    "PostgreSQL server binaries not found (looked for initdb and pg_ctl in $PBX_TEST_PG_BINDIR, "
    "/usr/lib/postgresql/*/bin and PATH): install them with `apt-get install postgresql`, "
    "or deselect these tests with `-m 'not postgres'`"
)
# Durability is worthless for a throwaway server and costs most of the time of a test run.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}
_STEP_TIMEOUT = 60
# Runs beside the test session and cleans up if the session dies without tearing down (killed by
# `timeout`, SIGKILL...): it blocks reading a pipe only the session holds, so EOF means it is gone.
_WATCHDOG = """
import shutil, subprocess, sys
pg_ctl, datadir, root, run_as = sys.argv[1:5]
sys.stdin.buffer.read()
command = [pg_ctl, "stop", "-D", datadir, "-m", "immediate"]
if run_as:
    command = ["runuser", "-u", run_as, "--", *command]
subprocess.run(command, cwd="/", capture_output=True, check=False, timeout=60)
shutil.rmtree(root, ignore_errors=True)
"""


class PostgresNotAvailable(RuntimeError):
    """The PostgreSQL server cannot be started here; the message says why and what to do."""


def find_bindir() -> Path:
    """The directory with initdb and pg_ctl, newest version first."""
    candidates: list[Path] = []
    if override := os.environ.get("PBX_TEST_PG_BINDIR"):
        candidates.append(Path(override))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
        reverse=True,
    )
    candidates.extend(debian)
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresNotAvailable(INSTALL_HINT)



@dataclass
class PostgresServer:
    """A running server; `url(name)` gives an asyncpg URL, `stop()` removes everything."""

    bindir: Path
    root: Path
    port: int
    run_as: str | None
    watchdog: subprocess.Popen[bytes]
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql (a client: fine as root); raise with psql's message on error."""
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                *f"-h 127.0.0.1 -p {self.port} -U {SUPERUSER} -d {database}".split(),
                *"--no-psqlrc --quiet --no-align --tuples-only -v ON_ERROR_STOP=1".split(),
                *("-c", sql),
            ],
            capture_output=True,
            text=True,
            timeout=_STEP_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresNotAvailable(f"psql {sql!r} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, prefix: str = "pbx_test", template: str | None = None) -> str:
        """Create an empty database (or a copy of `template`) and return its asyncpg URL."""
        name = f"{prefix}_{next(self._names)}"
        # FILE_COPY copies the files instead of writing the template through the WAL; the
        # checkpoint it needs is cheap with fsync off.
        source = f" TEMPLATE {template}" if template else ""
        self.psql(f"CREATE DATABASE {name}{source} STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def halt(self) -> None:
        """Stop the server, keeping its data (an outage; `resume()` starts it again)."""
        _run([self.bindir / "pg_ctl", "stop", "-D", self.datadir, "-m", "fast", "-w"],
             self.run_as, self.root)

    def resume(self) -> None:
        """Start the halted server again on the same port."""
        _run([self.bindir / "pg_ctl", "start", "-D", self.datadir, "-l", self.root / "server.log",
              "-w", "-t", "30", "-o", f"-p {self.port}"], self.run_as, self.root)

    @contextlib.contextmanager
    def down(self, *, at_most: float = 30.0) -> Iterator[None]:
        """An outage: the server is stopped for the block (its clients' connections drop) and
        started again at its end, whatever happens in it; `at_most` seconds bound the block's
        own waits (the caller's), checked after it."""
        began = time.monotonic()
        self.halt()
        try:
            yield
        finally:
            self.resume()
        lasted = time.monotonic() - began
        assert lasted < at_most, f"the outage lasted {lasted:.1f} s (bound {at_most} s)"

    def stop(self) -> None:
        try:
            if (self.datadir / "postmaster.pid").exists():
                stopped = _run(
                    [self.bindir / "pg_ctl", "stop", "-D", self.datadir, "-m", "fast", "-w"],
                    self.run_as,
                    self.root,
                    check=False,
                )
                if stopped.returncode != 0:
                    _run(
                        [self.bindir / "pg_ctl", "stop", "-D", self.datadir, "-m", "immediate"],
                        self.run_as,
                        self.root,
                        check=False,
                    )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            _release(self.watchdog)


def _watch(bindir: Path, root: Path, run_as: str | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-c", _WATCHDOG),
            *(str(bindir / "pg_ctl"), str(root / "data"), str(root), run_as or ""),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a signal sent to the test run's process group must not reach it.
        start_new_session=True,
    )


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    # Closing the pipe lets it run its (now empty-handed) cleanup and exit.
    if watchdog.stdin is not None:
        watchdog.stdin.close()
    try:
        watchdog.wait(timeout=30)
    except subprocess.TimeoutExpired:
        watchdog.kill()
        watchdog.wait()


def _run(
    argv: list[str | Path], run_as: str | None, cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in argv]
    if run_as is not None:
        command = ["runuser", "-u", run_as, "--", *command]
    result = subprocess.run(
        command,
        cwd=cwd,  # the server user must be able to enter its working directory
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        capture_output=True,
        text=True,
        timeout=_STEP_TIMEOUT,
        check=False,
    )
    if check and result.returncode != 0:
        raise PostgresNotAvailable(
            f"{' '.join(command)} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresNotAvailable(
            "running as root and there is no `postgres` system user to run the server as "
            "(PostgreSQL refuses to run as root): install Debian's postgresql package"
        ) from None
    return "postgres"


def start() -> PostgresServer:
    """initdb into a temp dir, start on a free 127.0.0.1 port, wait until it accepts."""
    bindir = find_bindir()
    run_as = _server_user()
    root = Path(tempfile.mkdtemp(prefix="pbx-pg-"))
    watchdog = _watch(bindir, root, run_as)
    server: PostgresServer | None = None
    try:
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        root.chmod(0o700)
        _run(
            [
                bindir / "initdb",
                *("-D", root / "data"),
                *f"-U {SUPERUSER} -A trust -E UTF8 --no-locale --no-sync --no-instructions".split(),
            ],
            run_as,
            root,
        )
        settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{root}'"}
        with (root / "data" / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # The port is free when picked but another process may take it before the server binds:
        # retry a few times with a new one.
        for _attempt in range(3):
            port = free_port()
            started = _run(
                [
                    bindir / "pg_ctl",
                    *("start", "-D", root / "data", "-l", root / "server.log", "-w", "-t", "30"),
                    *("-o", f"-p {port}"),
                ],
                run_as,
                root,
                check=False,
            )
            if started.returncode == 0:
                server = PostgresServer(
                    bindir=bindir, root=root, port=port, run_as=run_as, watchdog=watchdog
                )
                return server
        log = (root / "server.log").read_text(errors="replace")[-2000:]
        raise PostgresNotAvailable(f"PostgreSQL did not start; server log:\n{log}")
    finally:
        if server is None:
            _run(
                [bindir / "pg_ctl", "stop", "-D", root / "data", "-m", "immediate"],
                run_as,
                root,
                check=False,
            )
            shutil.rmtree(root, ignore_errors=True)
            _release(watchdog)
