"""The cluster's own PostgreSQL server (the controllers' role lease, the app's data, the edge's
credentials): Debian's server binaries driven as tests/pg.py drives them, its data kept between
`up` and `down` so a restart finds its agents and calls again."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import tempfile
from pathlib import Path

import pg as harness  # tests/pg.py

from .topology import ClusterError

DATABASE = "pbx"


def root(name: str) -> Path:
    """Where the server keeps its data: under the temp dir, not the state dir (the server runs as
    the `postgres` user under root, who cannot enter root's home)."""
    return Path(tempfile.gettempdir()) / f"pbx-stasis-cluster-{name}-pg"


def url(port: int) -> str:
    return f"postgresql+asyncpg://{harness.SUPERUSER}@127.0.0.1:{port}/{DATABASE}"


def answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start(name: str, port: int) -> None:
    """initdb on the first `up`, then the server on 127.0.0.1:`port`, and the database."""
    if answers(port):
        if (root(name) / "data" / "postmaster.pid").exists():
            return  # ours, already up
        raise ClusterError(f"port {port} is taken: pick PBX_CLUSTER_PG_PORT")
    try:
        bindir, run_as = harness.find_bindir(), harness._server_user()
    except harness.PostgresNotAvailable as problem:
        raise ClusterError(str(problem)) from None
    home = root(name)
    data = home / "data"
    fresh = not (data / "PG_VERSION").exists()
    try:
        if fresh:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            if run_as is not None:
                entry = pwd.getpwnam(run_as)
                os.chown(home, entry.pw_uid, entry.pw_gid)
            harness._run([bindir / "initdb", "-D", data, "-U", harness.SUPERUSER, "-A", "trust",
                          "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                         run_as, home)
            settings = {**harness.SERVER_SETTINGS, "unix_socket_directories": f"'{home}'"}
            with (data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        print(f"==> PostgreSQL on 127.0.0.1:{port} (data in {data})")
        harness._run([bindir / "pg_ctl", "start", "-D", data, "-l", home / "server.log", "-w",
                      "-t", "30", "-o", f"-p {port}"], run_as, home)
        if fresh:
            psql(port, f"CREATE DATABASE {DATABASE}")
    except harness.PostgresNotAvailable as problem:
        raise ClusterError(str(problem)) from None


def psql(port: int, sql: str, database: str = "postgres") -> str:
    done = subprocess.run(
        [str(harness.find_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U",
         harness.SUPERUSER, "-d", database, "--no-psqlrc", "--quiet", "--no-align",
         "--tuples-only", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise ClusterError(f"psql {sql!r}: {done.stderr.strip()}")
    return done.stdout.strip()


def stop(name: str) -> None:
    """Stop the server, keeping its data (`up` starts it again)."""
    data = root(name) / "data"
    if not (data / "postmaster.pid").exists():
        return
    print("==> stopping PostgreSQL")
    harness._run([harness.find_bindir() / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w"],
                 harness._server_user(), root(name), check=False)
