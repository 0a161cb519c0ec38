"""Run one named Asterisk instance inside the chroot: start, stop, status, env, cli."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from . import configs
from .install import is_installed, prepare_root
from .settings import ARI_USER, BENCH_CALLER_ADDRESS, SandboxError, Settings

ASTERISK = "/usr/sbin/asterisk"
_CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """Serialise start/stop of one instance (two test sessions may start it at once)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _require_installed(settings: Settings) -> None:
    if not is_installed(settings):
        raise SandboxError(
            f"the sandbox is not installed in {settings.sandbox_dir}: "
            "run `scripts/asterisk-sandbox install` first"
        )


def running_pid(settings: Settings) -> int | None:
    """The pid of this instance's Asterisk, or None (a stale pid file is ignored)."""
    try:
        pid = int(settings.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        root = os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None
    # the pid may have been reused by an unrelated process since Asterisk wrote the file
    conf = settings.asterisk_conf_in_chroot.encode()
    if ASTERISK.encode() not in cmdline[:1] or conf not in cmdline:
        return None
    if Path(root).resolve() != settings.root.resolve():
        return None
    return pid


def ari_answers(settings: Settings, timeout: float = 2.0) -> bool:
    """True when GET /ari/asterisk/info answers 200 with this instance's credentials."""
    request = urllib.request.Request(f"{settings.ari_url}/ari/asterisk/info")
    token = base64.b64encode(f"{ARI_USER}:{settings.ari_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _port_busy(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        if kind == socket.SOCK_STREAM:
            # like Asterisk itself: connections in TIME_WAIT do not make the port busy
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cli(
    settings: Settings, command: str, timeout: float = 15.0
) -> subprocess.CompletedProcess[str]:
    """Run one Asterisk CLI command on the instance (asterisk -rx through its control socket)."""
    done = subprocess.run(
        [
            "chroot",
            str(settings.root),
            ASTERISK,
            "-C",
            settings.asterisk_conf_in_chroot,
            "-rx",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_CHROOT_ENV,
        check=False,
    )
    # the remote console colours its output whatever the terminal (-n has no effect with -r)
    done.stdout = _ANSI.sub("", done.stdout)
    return done


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"  ({path} does not exist)"
    return "\n".join("  " + line for line in text[-lines:]) or f"  ({path} is empty)"


def _saved_state(settings: Settings) -> dict[str, object] | None:
    try:
        loaded = json.loads(settings.state_file.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def describe(settings: Settings) -> str:
    return (
        f"ARI {settings.ari_url} (user {ARI_USER}, password "
        f"{settings.ari_password}), SIP udp 127.0.0.1:{settings.sip_port}, "
        f"WebSocket SIP ws://127.0.0.1:{settings.ari_port}/ws, "
        f"RTP {settings.rtp_start}-{settings.rtp_end}, log {settings.log}"
    )


def start(settings: Settings) -> None:
    """(Re)write the config, start Asterisk unless it already runs with it, wait for ARI."""
    _require_installed(settings)
    prepare_root(settings)
    files = configs.render(settings)
    with _locked(settings):
        changed = configs.write(settings, files)
        pid = running_pid(settings)
        if pid is not None:
            same_settings = _saved_state(settings) == settings.as_state()
            answering = ari_answers(settings)
            if not changed and same_settings and answering:
                print(f"instance {settings.name} already running (pid {pid}); {describe(settings)}")
                return
            reason = "ARI not answering" if answering is False and not changed else "new config"
            print(f"restarting instance {settings.name} (pid {pid}): {reason}")
            _stop(settings, pid)
        _launch(settings)
    print(f"instance {settings.name} running; {describe(settings)}")


def _launch(settings: Settings) -> None:
    for kind, port, what in (
        (socket.SOCK_STREAM, settings.ari_port, "PBX_SANDBOX_ARI_PORT"),
        (socket.SOCK_DGRAM, settings.sip_port, "PBX_SANDBOX_SIP_PORT"),
    ):
        if _port_busy(kind, port):
            raise SandboxError(
                f"port {port} ({what}) is already in use on 127.0.0.1; stop whatever holds it "
                "or pick other ports for this instance"
            )
    for stale in ("asterisk.pid", "asterisk.ctl"):
        (settings.home / "run" / stale).unlink(missing_ok=True)
    if settings.log.exists():
        settings.log.replace(settings.log.with_suffix(".log.1"))
    settings.state_file.write_text(json.dumps(settings.as_state(), indent=1) + "\n")
    began = time.monotonic()
    with open(settings.startup_log, "w") as startup:
        # without -f Asterisk daemonizes: this process returns once the daemon forked
        launcher = subprocess.run(
            ["chroot", str(settings.root), ASTERISK, "-C", settings.asterisk_conf_in_chroot],
            stdin=subprocess.DEVNULL,
            stdout=startup,
            stderr=subprocess.STDOUT,
            env=_CHROOT_ENV,
            start_new_session=True,
            timeout=30,
            check=False,
        )
    if launcher.returncode != 0:
        raise SandboxError(
            f"asterisk exited with {launcher.returncode} while starting:\n"
            + _tail(settings.startup_log)
            + "\n"
            + _tail(settings.log)
        )
    try:
        _wait_ready(settings, began)
    except SandboxError:
        # do not leave a half-working Asterisk holding the ports
        pid = running_pid(settings)
        if pid is not None:
            _stop(settings, pid)
        raise
    print(f"started in {time.monotonic() - began:.1f} s")


def _log_report(settings: Settings) -> str:
    """The log's errors (where a broken module or config shows) and its last lines."""
    try:
        lines = settings.log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if "ERROR[" in line][:15]
    report = f"last lines of {settings.log}:\n" + _tail(settings.log)
    if errors:
        report = "errors in the log:\n" + "\n".join("  " + e for e in errors) + "\n" + report
    return report + "\nstartup output:\n" + _tail(settings.startup_log, 10)


def _wait_ready(settings: Settings, began: float) -> None:
    """Wait for the daemon, then for `core waitfullybooted`, then for ARI to answer."""
    deadline = began + settings.start_timeout
    while running_pid(settings) is None or not (settings.home / "run" / "asterisk.ctl").exists():
        if time.monotonic() - began > min(10.0, settings.start_timeout):
            raise SandboxError(
                f"asterisk (instance {settings.name}) is not running after start; "
                + _log_report(settings)
            )
        time.sleep(0.1)
    try:
        remaining = max(1.0, deadline - time.monotonic())
        booted = cli(settings, "core waitfullybooted", timeout=remaining)
    except subprocess.TimeoutExpired:
        raise SandboxError(
            f"asterisk did not finish booting within {settings.start_timeout:.0f} s "
            "(PBX_SANDBOX_START_TIMEOUT); " + _log_report(settings)
        ) from None
    if booted.returncode != 0:
        raise SandboxError(
            f"core waitfullybooted failed ({booted.stderr.strip() or booted.stdout.strip()}); "
            + _log_report(settings)
        )
    # fully booted: ARI answers within moments or it failed to load
    ari_deadline = min(deadline, time.monotonic() + 5.0)
    while not ari_answers(settings, timeout=1.0):
        if time.monotonic() > ari_deadline:
            raise SandboxError(
                f"Asterisk booted but ARI does not answer on {settings.ari_url}; "
                + _log_report(settings)
            )
        time.sleep(0.1)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return not Path(f"/proc/{pid}").exists()


def _stop(settings: Settings, pid: int) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        cli(settings, "core stop now", timeout=10)
    if not _wait_gone(pid, 10):
        print(f"asterisk {pid} ignored `core stop now`: SIGTERM")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 5):
            print(f"asterisk {pid} ignored SIGTERM: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_gone(pid, 5):
                raise SandboxError(f"asterisk {pid} does not die")
    for stale in ("asterisk.pid", "asterisk.ctl"):
        (settings.home / "run" / stale).unlink(missing_ok=True)


def stop(settings: Settings) -> None:
    with _locked(settings):
        pid = running_pid(settings)
        if pid is None:
            print(f"instance {settings.name}: not running")
            return
        _stop(settings, pid)
    print(f"instance {settings.name}: stopped (was pid {pid})")


def status(settings: Settings) -> int:
    """0 running and ARI answering, 3 stopped, 4 process alive but ARI not answering (LSB codes)."""
    pid = running_pid(settings) if is_installed(settings) else None
    if pid is None:
        installed = "" if is_installed(settings) else " (not installed)"
        print(f"instance {settings.name}: stopped{installed}")
        return 3
    if ari_answers(settings):
        print(f"instance {settings.name}: running (pid {pid}); {describe(settings)}")
        return 0
    print(
        f"instance {settings.name}: pid {pid} alive but ARI does not answer on "
        f"{settings.ari_url} with these settings; log {settings.log}"
    )
    return 4


def env_lines(settings: Settings) -> list[str]:
    values = {
        "PBX_ARI_URL": settings.ari_url,
        "PBX_ARI_USER": ARI_USER,
        "PBX_ARI_PASSWORD": settings.ari_password,
        "PBX_SANDBOX_NAME": settings.name,
        "PBX_SANDBOX_ROOT": str(settings.root),
        "PBX_SANDBOX_SIP_PORT": str(settings.sip_port),
        "PBX_SANDBOX_TRUNK_PORT": str(settings.trunk_port),
        "PBX_SANDBOX_RTP_START": str(settings.rtp_start),
        "PBX_SANDBOX_RTP_END": str(settings.rtp_end),
        "PBX_SANDBOX_RTP_TIMEOUT": str(settings.rtp_timeout),
        "PBX_SANDBOX_SPOOL": str(settings.spool),
        "PBX_SANDBOX_LOG": str(settings.log),
        "PBX_SANDBOX_BENCH_CALLER": BENCH_CALLER_ADDRESS,
    }
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
