"""`pbx run` and `pbx check` as real processes: what goes wrong around them (a port in use, an
unknown host, a tenant that does not exist, junk sent to the web port) is one line, never a
traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until
from ports import free_port

REPO = Path(__file__).resolve().parents[2]



@pytest.fixture
def env(sqlite_template: Path, tmp_path: Path) -> dict[str, str]:
    """A migrated database, an ARI nobody listens on, this tree's code; no stray PBX_*."""
    db = tmp_path / "pbx.db"
    shutil.copyfile(sqlite_template, db)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PBX_")},
        "PYTHONPATH": str(REPO),
        "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "PBX_ARI_URL": f"http://127.0.0.1:{free_port()}",
        "PBX_ARI_PASSWORD": "x",
    }


def pbx(env: dict[str, str], *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbx_stasis.cli.main", *argv], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _one_line(done: subprocess.CompletedProcess[str], says: str) -> None:
    problems = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert "Traceback" not in done.stderr, done.stderr
    assert len(problems) == 1 and says in problems[0], done.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_pbx_run_on_a_port_in_use_says_so(env: dict[str, str], busy_port: int) -> None:
    done = pbx({**env, "PBX_WEB_PORT": str(busy_port)}, "run")
    assert done.returncode == 2, done.stderr
    _one_line(done, f"config error: web.host, web.port (PBX_WEB_HOST, PBX_WEB_PORT): cannot "
                    f"listen on 127.0.0.1:{busy_port}")
    assert "address already in use" in done.stderr


def test_pbx_run_on_an_unknown_host_says_so(env: dict[str, str]) -> None:
    done = pbx({**env, "PBX_WEB_HOST": "no-such-host.invalid", "PBX_WEB_PORT": str(free_port())},
               "run")
    assert done.returncode == 2, done.stderr
    _one_line(done, "cannot listen on no-such-host.invalid:")


def test_pbx_run_refuses_a_region_it_cannot_read(env: dict[str, str]) -> None:
    done = pbx({**env, "PBX_REGION": "XX"}, "run")
    assert done.returncode == 2, done.stderr
    _one_line(done, "config error: PBX_REGION (environment): unknown numbering region 'XX'")
    checked = pbx({**env, "PBX_REGION": "XX"}, "check")
    assert checked.returncode == 2 and "ok:" not in checked.stdout


def test_pbx_run_refuses_an_event_loop_it_does_not_know(env: dict[str, str]) -> None:
    done = pbx({**env, "PBX_EVENT_LOOP": "uvlop"}, "run")
    assert done.returncode == 2, done.stderr  # a setting: systemd must not restart it
    _one_line(done, "config error: PBX_EVENT_LOOP='uvlop': the event loop is one of uvloop, "
                    "asyncio")
    assert "never awaited" not in done.stderr


def test_pbx_check_says_when_the_tenant_does_not_exist(env: dict[str, str]) -> None:
    missing = pbx({**env, "PBX_TENANT": "acmee"}, "check")
    assert missing.returncode == 1
    assert ("problem: calls.tenant (PBX_TENANT) 'acmee': no such tenant in the database; "
            "`pbx user add NAME --tenant acmee --role admin` creates it") in missing.stderr
    assert pbx(env, "user", "add", "boss", "--role", "admin", "--tenant", "acme").returncode == 0
    found = pbx({**env, "PBX_TENANT": "ACME"}, "check")
    assert found.returncode == 1  # ARI is still unreachable
    assert "calls.tenant" not in found.stderr and "ari.url" in found.stderr
    assert "Traceback" not in missing.stderr + found.stderr


def test_a_database_password_is_never_shown(env: dict[str, str]) -> None:
    for url in ("mysql://bob:hunter2@db/pbx", "postgresql://bob:hunter2@db:54x/pbx",
                "postgresql://bob:hun@ter2@db/pbx",
                f"postgresql+asyncpg://bob:hunter2@127.0.0.1:{free_port()}/pbx"):
        for argv in (["check"], ["migrate"], ["user", "add", "x", "--role", "agent"]):
            done = pbx({**env, "PBX_DATABASE_URL": url}, *argv)
            assert done.returncode != 0, (url, argv)
            output = done.stdout + done.stderr
            assert "hunter2" not in output and "ter2" not in output, output
            assert "Traceback" not in output and "PBX_DATABASE_URL" in output, output


JUNK = [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # TLS to an HTTP port
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET /\x00\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\x00\xff\r\n\r\n",
    b"\xff" * 10_000,
]


def test_junk_sent_to_the_web_port_is_a_warning_line_not_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "pbx.log"
    # The web half of a split deployment: the web app alone, as a real listening process.
    web_env = {**env, "PBX_WEB_PORT": str(port), "PBX_RPC_SECRET": "s3cret",
               "PBX_RPC_URL": f"http://127.0.0.1:{free_port()}"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pbx_stasis.cli.main", "run", "--part",
                                 "web"], env=web_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        def started() -> bool:
            assert proc.poll() is None, log.read_text()
            return "web pages at" in log.read_text(errors="replace")

        wait_until(started, within=30, every=0.1)
        for junk in JUNK:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(junk)
                conn.shutdown(socket.SHUT_WR)
                answer = conn.recv(100)
            assert answer == b"" or b" 400 " in answer.split(b"\r\n")[0], answer
        wait_until(lambda: log.read_text(errors="replace").count("malformed HTTP request from")
                   >= len(JUNK) - 3, what="a warning line per junk request")
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and " ERROR " not in text, text
    warnings = [line for line in text.splitlines() if "malformed HTTP request from" in line]
    # Non-HTTP bytes first on a connection (TLS, the 0xff flood) aiohttp logs at debug level only;
    # the junk after a complete request ends that connection without a log line.
    assert len(warnings) >= len(JUNK) - 3, text
    assert all(" WARNING pbx_stasis.http: " in line and len(line) < 400 for line in warnings)
