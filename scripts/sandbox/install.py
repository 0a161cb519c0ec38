"""Install the chroot: debootstrap Debian sid with Asterisk 22 from the machine's own apt mirror."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .settings import Settings, SandboxError

SUITE = "sid"
PACKAGES = (
    "asterisk",
    "asterisk-modules",
    "asterisk-moh-opsound-wav",
    "asterisk-core-sounds-en-wav",
)
# Directories Asterisk expects even though every instance points its own dirs elsewhere.
CHROOT_DIRS = ("var/run/asterisk", "var/log/asterisk", "var/cache/asterisk", "var/spool/asterisk")


def is_installed(settings: Settings) -> bool:
    return (settings.root / "usr" / "sbin" / "asterisk").is_file()


def _deb822_mirror(text: str) -> str | None:
    """The URIs of the first deb stanza for the main archive (not -security) in a .sources file."""
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        suites = fields.get("suites", "").split()
        for uri in fields.get("uris", "").split():
            if _is_main_archive(uri) and not all(s.endswith("-security") for s in suites):
                return uri
    return None


def _list_mirror(text: str) -> str | None:
    """The URL of the first `deb` line for the main archive in a sources.list file."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            # options such as [arch=amd64 signed-by=...] run until the word ending in "]"
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2 and _is_main_archive(words[0]) and not words[1].endswith("-security"):
            return words[0]
    return None


def _is_main_archive(uri: str) -> bool:
    return uri.startswith(("http://", "https://")) and uri.rstrip("/").endswith("/debian")


def find_mirror() -> str:
    """The Debian mirror this machine already uses; PBX_SANDBOX_MIRROR overrides it."""
    override = os.environ.get("PBX_SANDBOX_MIRROR", "").strip()
    if override:
        return override
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        found = _deb822_mirror(sources.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        found = _list_mirror(legacy.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found
    raise SandboxError(
        "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or "
        "/etc/apt/sources.list; set PBX_SANDBOX_MIRROR to a Debian archive URL"
    )


def _ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    print("debootstrap missing: apt-get install -y debootstrap", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], env=env, check=False)
        if subprocess.run(install, env=env, check=False).returncode != 0:
            raise SandboxError("apt-get install debootstrap failed (see the output above)")
    if not shutil.which("debootstrap"):
        raise SandboxError("debootstrap is still not on PATH after apt-get install")


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    found = []
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            point = line.split()[1].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _remove_partial(path: Path) -> None:
    """Delete an interrupted install; unmount first so rmtree never walks into the host's /proc."""
    if not path.exists():
        return
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], check=False)
    left = _mounts_under(path)
    if left:
        raise SandboxError(f"cannot remove {path}: still mounted: {', '.join(left)}")
    print(f"removing an interrupted install at {path}", flush=True)
    shutil.rmtree(path)


class _Progress:
    """Condense debootstrap's ~900 lines into one line per stage with a dot per step."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stage = ""
        self.count = 0

    def feed(self, line: str) -> None:
        if not line.startswith("I: "):
            return
        words = line[3:].split()
        stage = words[0] if words else ""
        if stage != self.stage:
            self._end_stage()
            self.stage = stage
            self.count = 0
            sys.stdout.write(f"[{self.elapsed():4d}s] {stage} ")
        self.count += 1
        if self.count % 10 == 0:
            sys.stdout.write(".")
        sys.stdout.flush()

    def _end_stage(self) -> None:
        if self.stage:
            sys.stdout.write(f" ({self.count})\n")

    def finish(self) -> None:
        self._end_stage()
        self.stage = ""
        sys.stdout.flush()

    def elapsed(self) -> int:
        return int(time.monotonic() - self.started)


def install(settings: Settings) -> None:
    """Debootstrap into root.tmp and rename it to root on success: a half install never looks done."""
    if is_installed(settings):
        print(f"already installed: {settings.root}")
        prepare_root(settings)
        return
    if os.geteuid() != 0:
        raise SandboxError("install needs root (debootstrap and chroot)")
    mirror = find_mirror()
    _ensure_debootstrap()
    settings.sandbox_dir.mkdir(parents=True, exist_ok=True)
    partial = settings.sandbox_dir / "root.tmp"
    _remove_partial(partial)
    if settings.root.exists():
        # a root without usr/sbin/asterisk is broken: start over rather than guess
        _remove_partial(settings.root)
    log_path = settings.sandbox_dir / "debootstrap.log"
    command = [
        "debootstrap",
        "--variant=minbase",
        "--include=" + ",".join(PACKAGES),
        SUITE,
        str(partial),
        mirror,
    ]
    print(f"debootstrap {SUITE} with Asterisk from {mirror} (~1 min, ~600 MB); log: {log_path}")
    progress = _Progress()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"},
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            progress.feed(line.rstrip("\n"))
        code = process.wait()
    progress.finish()
    if code != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SandboxError(
            f"debootstrap failed (exit {code}) after {progress.elapsed()} s; last lines of "
            f"{log_path}:\n  " + "\n  ".join(tail)
        )
    if not (partial / "usr" / "sbin" / "asterisk").is_file():
        raise SandboxError(f"debootstrap finished but {partial}/usr/sbin/asterisk is missing")
    leftover = _mounts_under(partial)
    if leftover:
        raise SandboxError(f"debootstrap left mounts behind: {', '.join(leftover)}")
    partial.rename(settings.root)
    prepare_root(settings)
    print(f"[{progress.elapsed():4d}s] installed {settings.root}")


def prepare_root(settings: Settings) -> None:
    """The fix-ups every chroot needs (idempotent): Asterisk's dirs and a hosts file (no DNS here)."""
    for relative in CHROOT_DIRS:
        (settings.root / relative).mkdir(parents=True, exist_ok=True)
    hostname = socket.gethostname()
    hosts = f"127.0.0.1 localhost {hostname}\n::1 localhost ip6-localhost ip6-loopback\n"
    hosts_path = settings.root / "etc" / "hosts"
    if not hosts_path.is_file() or hosts_path.read_text(encoding="utf-8") != hosts:
        hosts_path.write_text(hosts, encoding="utf-8")
