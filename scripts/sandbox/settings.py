"""Where a sandbox lives and which ports an instance uses, read from PBX_SANDBOX_* variables."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARI_USER = "pbx"
# The loopback address scripts/bench's sipp callers bind to: the sandbox-only `bench-app-queue`
# endpoint (bench-app-queue/pjsip.conf) takes calls from this address only.
BENCH_CALLER_ADDRESS = "127.0.0.3"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SYSTEMNAME = re.compile(r"^([a-z0-9][a-z0-9_]{0,30})?$")


class SandboxError(Exception):
    """A problem the user can act on; main() prints it without a traceback."""


@dataclass(frozen=True)
class Settings:
    """One instance of the sandbox: its name, ports and paths (host side and chroot side)."""

    sandbox_dir: Path
    name: str
    ari_port: int
    sip_port: int
    trunk_port: int
    rtp_start: int
    rtp_end: int
    rtp_timeout: int  # seconds without RTP before Asterisk ends a call (pjsip.conf @RTP_TIMEOUT@)
    ari_password: str
    start_timeout: float
    verbose: int
    # Asterisk's systemname: the prefix of every channel id (a cluster's node name); "" none.
    systemname: str = ""

    @property
    def root(self) -> Path:
        """The chroot; it exists only once an install finished (see install.py)."""
        return self.sandbox_dir / "root"

    @property
    def home_in_chroot(self) -> str:
        return f"/srv/pbx/{self.name}"

    @property
    def home(self) -> Path:
        return self.root / "srv" / "pbx" / self.name

    @property
    def asterisk_conf_in_chroot(self) -> str:
        return f"{self.home_in_chroot}/etc/asterisk.conf"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.ari_port}"

    @property
    def spool(self) -> Path:
        """Asterisk's spool seen from the host; ARI stored recordings land in spool/recording."""
        return self.home / "spool"

    @property
    def log(self) -> Path:
        return self.home / "log" / "messages.log"

    @property
    def startup_log(self) -> Path:
        return self.home / "log" / "startup.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "asterisk.pid"

    @property
    def state_file(self) -> Path:
        """The settings the running instance was started with (compared on the next start)."""
        return self.home / "instance.json"

    def as_state(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ari_port": self.ari_port,
            "sip_port": self.sip_port,
            "trunk_port": self.trunk_port,
            "rtp_start": self.rtp_start,
            "rtp_end": self.rtp_end,
            "rtp_timeout": self.rtp_timeout,
            "ari_password": self.ari_password,
            "verbose": self.verbose,
            "systemname": self.systemname,
        }


# instance.json field -> variable: an instance keeps the settings it was last started with
_SAVED = {
    "ari_port": "PBX_SANDBOX_ARI_PORT",
    "sip_port": "PBX_SANDBOX_SIP_PORT",
    "trunk_port": "PBX_SANDBOX_TRUNK_PORT",
    "rtp_start": "PBX_SANDBOX_RTP_START",
    "rtp_end": "PBX_SANDBOX_RTP_END",
    "rtp_timeout": "PBX_SANDBOX_RTP_TIMEOUT",
    "ari_password": "PBX_SANDBOX_ARI_PASSWORD",
    "verbose": "PBX_SANDBOX_VERBOSE",
    "systemname": "PBX_SANDBOX_SYSTEMNAME",
}


def _with_saved(env: Mapping[str, str], state_file: Path) -> Mapping[str, str]:
    """env, where a variable that is not set takes the value the instance last started with."""
    try:
        saved = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return env
    if not isinstance(saved, dict):
        return env
    merged = dict(env)
    for field_name, key in _SAVED.items():
        if not merged.get(key, "").strip() and field_name in saved:
            merged[key] = str(saved[field_name])
    return merged


def _int(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxError(f"{key}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise SandboxError(f"{key}={value}: expected {low}..{high}")
    return value


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Settings of the instance named by PBX_SANDBOX_NAME: each PBX_SANDBOX_* variable if set,
    else the value the instance was last started with (its instance.json), else the default."""
    env = os.environ if env is None else env
    name = env.get("PBX_SANDBOX_NAME", "").strip() or "default"
    if not _NAME.match(name):
        raise SandboxError(
            f"PBX_SANDBOX_NAME={name!r}: use 1-32 of a-z, 0-9, '-', '_' (starting alphanumeric)"
        )
    raw_dir = env.get("PBX_SANDBOX_DIR", "").strip()
    sandbox_dir = (
        Path(raw_dir).expanduser()
        if raw_dir
        else (Path.home() / ".cache" / "pbx-stasis" / "sandbox")
    )
    env = _with_saved(env, sandbox_dir.resolve() / "root" / "srv" / "pbx" / name / "instance.json")
    rtp_start = _int(env, "PBX_SANDBOX_RTP_START", 10000, 1024, 65534)
    rtp_end = _int(env, "PBX_SANDBOX_RTP_END", 19999, 1025, 65535)
    if rtp_end - rtp_start < 100:
        raise SandboxError(
            f"PBX_SANDBOX_RTP_START={rtp_start} PBX_SANDBOX_RTP_END={rtp_end}: "
            "give RTP at least 100 ports (a narrow range makes calls fail under load)"
        )
    settings = Settings(
        sandbox_dir=sandbox_dir.resolve(),
        name=name,
        ari_port=_int(env, "PBX_SANDBOX_ARI_PORT", 8088, 1, 65535),
        sip_port=_int(env, "PBX_SANDBOX_SIP_PORT", 5060, 1, 65535),
        trunk_port=_int(env, "PBX_SANDBOX_TRUNK_PORT", 5070, 1, 65535),
        rtp_start=rtp_start,
        rtp_end=rtp_end,
        rtp_timeout=_int(env, "PBX_SANDBOX_RTP_TIMEOUT", 60, 2, 3600),
        ari_password=env.get("PBX_SANDBOX_ARI_PASSWORD", "") or "pbx-sandbox",
        start_timeout=float(_int(env, "PBX_SANDBOX_START_TIMEOUT", 60, 1, 3600)),
        verbose=_int(env, "PBX_SANDBOX_VERBOSE", 0, 0, 10),
        systemname=env.get("PBX_SANDBOX_SYSTEMNAME", "").strip(),
    )
    if not _SYSTEMNAME.match(settings.systemname):
        raise SandboxError(
            f"PBX_SANDBOX_SYSTEMNAME={settings.systemname!r}: use 1-31 of a-z, 0-9, '_'")
    if settings.sip_port == settings.trunk_port:
        raise SandboxError(
            f"PBX_SANDBOX_SIP_PORT and PBX_SANDBOX_TRUNK_PORT are both {settings.sip_port}"
        )
    return settings
