"""Install the chroot: debootstrap Debian sid with Asterisk 22 from the machine's own apt mirror."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .settings import SandboxError, Settings

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


def _debootstraps_on(path: Path) -> list[int]:
    """Pids of processes still installing into `path` (e.g. orphans of a killed install)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in argv and any(b"debootstrap" in arg for arg in argv[:2]):
            found.append(int(entry.name))
    return sorted(found)


def _remove_partial(path: Path) -> None:
    """Delete an interrupted install; unmount first so rmtree never walks into the host's /proc."""
    if not path.exists():
        return
    running = _debootstraps_on(path)
    if running:
        raise SandboxError(
            f"debootstrap is still installing into {path} (pids {', '.join(map(str, running))}), "
            "probably left by an interrupted install: wait for it or kill it, then rerun install"
        )
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], check=False)
    left = _mounts_under(path)
    if left:
        raise SandboxError(f"cannot remove {path}: still mounted: {', '.join(left)}")
    print(f"removing an interrupted install at {path}", flush=True)
    try:
        shutil.rmtree(path)
    except OSError as problem:
        raise SandboxError(f"cannot remove the interrupted install {path}: {problem}") from None


# debootstrap's ~900 "I: <Verb> ..." lines, grouped into the phases a person cares about
_PHASES = {
    "Target": "resolving packages",
    "Retrieving": "downloading packages",
    "Validating": "downloading packages",
    "Checking": "resolving packages",
    "Valid": "resolving packages",
    "Resolving": "resolving packages",
    "Found": "resolving packages",
    "Chosen": "extracting",
    "Extracting": "extracting",
    "Installing": "installing packages",
    "Unpacking": "installing packages",
    "Configuring": "installing packages",
    "Base": "finishing",
}


_INDEXES = {"InRelease", "Release", "Release.gpg", "Packages"}


class _Progress:
    """One line per phase of debootstrap, a dot per 20 steps, elapsed seconds."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phase = ""
        self.count = 0

    def feed(self, line: str) -> None:
        if not line.startswith("I: "):
            return
        words = line[3:].split()
        verb = words[0] if words else ""
        if verb in ("Retrieving", "Validating") and words[1:2] and words[1] in _INDEXES:
            verb = "Resolving"  # the archive's index files, not packages
        phase = _PHASES.get(verb, self.phase or "starting")
        if phase != self.phase:
            self._end_phase()
            self.phase = phase
            self.count = 0
            sys.stdout.write(f"[{self.elapsed():4d}s] {phase} ")
        self.count += 1
        if self.count % 20 == 0:
            sys.stdout.write(".")
        sys.stdout.flush()

    def _end_phase(self) -> None:
        if self.phase:
            sys.stdout.write(f" ({self.count} steps)\n")

    def finish(self) -> None:
        self._end_phase()
        self.phase = ""
        sys.stdout.flush()

    def elapsed(self) -> int:
        return int(time.monotonic() - self.started)


def install(settings: Settings) -> None:
    """Debootstrap into root.tmp, renamed to root on success: a half install never looks done."""
    if is_installed(settings):
        print(f"already installed: {settings.root}")
        prepare_root(settings)
        return
    if os.geteuid() != 0:
        raise SandboxError("install needs root (debootstrap and chroot)")
    settings.sandbox_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.sandbox_dir / ".install.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SandboxError(
                f"another install into {settings.sandbox_dir} is running; wait for it"
            ) from None
        if is_installed(settings):
            print(f"installed meanwhile: {settings.root}")
        else:
            _debootstrap(settings)
        prepare_root(settings)


def _debootstrap(settings: Settings) -> None:
    mirror = find_mirror()
    _ensure_debootstrap()
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
        try:
            for line in process.stdout:
                log.write(line)
                progress.feed(line.rstrip("\n"))
            code = process.wait()
        except BaseException:
            # interrupted: stop debootstrap and release its /proc and /sys mounts in the target
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for point in _mounts_under(partial):
                subprocess.run(["umount", "-l", point], check=False)
            progress.finish()
            raise
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
    print(f"[{progress.elapsed():4d}s] installed {settings.root}")


def in_chroot(root: Path, path: str) -> Path:
    """The host path of `path` inside the chroot, following symlinks as the chroot would.

    Debian's var/run is a symlink to /run: resolved naively from the host it leads to the
    host's own /run.
    """
    current = root
    parts = [p for p in path.split("/") if p]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise SandboxError(f"too many symlinks resolving {path} in {root}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = root
            parts = [p for p in target.split("/") if p] + parts
            continue
        current = candidate
    return current


def prepare_root(settings: Settings) -> None:
    """Fix-ups every chroot needs (idempotent): Asterisk's dirs and a hosts file (no DNS here)."""
    for relative in CHROOT_DIRS:
        in_chroot(settings.root, relative).mkdir(parents=True, exist_ok=True)
    hostname = socket.gethostname()
    hosts = f"127.0.0.1 localhost {hostname}\n::1 localhost ip6-localhost ip6-loopback\n"
    hosts_path = in_chroot(settings.root, "etc/hosts")
    if not hosts_path.is_file() or hosts_path.read_text(encoding="utf-8") != hosts:
        hosts_path.write_text(hosts, encoding="utf-8")
