"""Drive the sandbox Asterisk and sipp from tests: instances, desk phones, callers, agents."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import functools
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from polling import wait_until

REPO = Path(__file__).resolve().parents[2]
SANDBOX_SCRIPT = REPO / "scripts" / "asterisk-sandbox"
SIPP_DIR = REPO / "scripts" / "sipp"
SIPP_DTMF_DIR = Path("/usr/share/sip-tester")

# Port conventions (documented in scripts/sipp/README.md): desk phone i listens for SIP on
# 20000+i and takes media ports 21000+4i..+3; callers pick free media blocks in 25000-29999.
# All stay above Asterisk's RTP range (10000-19999 by default) and below the kernel's ephemeral
# range (32768 and up): there any process (Chromium's WebRTC, a UDP client) may hold a port at
# random, and a fixed sipp port there fails now and then with "Address already in use".
# Under pytest-xdist each worker has its own share of both: its own desk-phone indexes (the
# indexes fixed in the tests repeat across files, which run side by side there) and its own part
# of the callers' range, so two workers never pick the same port at the same moment.
DESK_PHONE_SIP_BASE = 20000
DESK_PHONE_MEDIA_BASE = 21000
DESK_PHONES = 1000
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1"...; None outside xdist
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
_WORKER_NUMBER = int(XDIST_WORKER.removeprefix("gw")) if XDIST_WORKER else 0
_PHONES_PER_WORKER = DESK_PHONES // _WORKERS
_CALLER_MEDIA_PER_WORKER = 5000 // _WORKERS // 4 * 4
CALLER_MEDIA_RANGE = (25000 + _WORKER_NUMBER * _CALLER_MEDIA_PER_WORKER,
                      25000 + (_WORKER_NUMBER + 1) * _CALLER_MEDIA_PER_WORKER)

_DTMF_FILES = {**{d: d for d in "0123456789"}, "*": "star", "#": "pound"}
_DTMF_BEGIN = "<!-- dtmf:begin -->"
_DTMF_END = "<!-- dtmf:end -->"


class SandboxError(RuntimeError):
    """The sandbox script failed, or the sandbox is not installed."""


def desk_phone_ports(index: int) -> tuple[int, int]:
    """(SIP port, media port) of desk phone `index` (0-based) under the port conventions: on
    this worker's share of the phones (index modulo the share: a test's phones are consecutive)."""
    if not 0 <= index < DESK_PHONES:
        raise ValueError(f"desk phone index {index} outside 0..{DESK_PHONES - 1}")
    slot = _WORKER_NUMBER * _PHONES_PER_WORKER + index % _PHONES_PER_WORKER
    return DESK_PHONE_SIP_BASE + slot, DESK_PHONE_MEDIA_BASE + 4 * slot


@dataclass(frozen=True)
class Sandbox:
    """One instance of the sandbox Asterisk, as `scripts/asterisk-sandbox env` describes it."""

    name: str
    ari_url: str
    user: str
    password: str
    root: Path
    sip_port: int
    trunk_port: int
    spool: Path
    log: Path
    bench_caller: str  # the loopback address the sandbox-only bench-app-queue endpoint accepts
    script_env: Mapping[str, str] = field(repr=False)

    @classmethod
    def for_instance(
        cls,
        name: str | None = None,
        *,
        ari_port: int | None = None,
        sip_port: int | None = None,
        trunk_port: int | None = None,
        rtp_range: tuple[int, int] | None = None,
        password: str | None = None,
        sandbox_dir: Path | None = None,
        rtp_timeout: int | None = None,
    ) -> Sandbox:
        """The instance `name` (default: $PBX_SANDBOX_NAME or "default"); unset arguments keep
        the script's defaults or the PBX_SANDBOX_* variables already set."""
        env = dict(os.environ)
        overrides: dict[str, object | None] = {
            "PBX_SANDBOX_NAME": name or env.get("PBX_SANDBOX_NAME") or "default",
            "PBX_SANDBOX_ARI_PORT": ari_port,
            "PBX_SANDBOX_SIP_PORT": sip_port,
            "PBX_SANDBOX_TRUNK_PORT": trunk_port,
            "PBX_SANDBOX_RTP_START": rtp_range[0] if rtp_range else None,
            "PBX_SANDBOX_RTP_END": rtp_range[1] if rtp_range else None,
            "PBX_SANDBOX_ARI_PASSWORD": password,
            "PBX_SANDBOX_DIR": sandbox_dir,
            "PBX_SANDBOX_RTP_TIMEOUT": rtp_timeout,
        }
        for key, value in overrides.items():
            if value is not None:
                env[key] = str(value)
        values = _parse_exports(_run_script("env", env).stdout)
        script_env = {k: v for k, v in env.items() if k.startswith("PBX_SANDBOX_")}
        return cls(
            name=values["PBX_SANDBOX_NAME"],
            ari_url=values["PBX_ARI_URL"],
            user=values["PBX_ARI_USER"],
            password=values["PBX_ARI_PASSWORD"],
            root=Path(values["PBX_SANDBOX_ROOT"]),
            sip_port=int(values["PBX_SANDBOX_SIP_PORT"]),
            trunk_port=int(values["PBX_SANDBOX_TRUNK_PORT"]),
            spool=Path(values["PBX_SANDBOX_SPOOL"]),
            log=Path(values["PBX_SANDBOX_LOG"]),
            bench_caller=values["PBX_SANDBOX_BENCH_CALLER"],
            script_env=script_env,
        )

    @classmethod
    def private(cls, prefix: str = "t", *, rtp_timeout: int | None = None) -> Sandbox:
        """A new instance of its own (name prefix-PID, free ports) for one test session.

        Trunk calls can only enter the Stasis app `pbx`, and a second connection to `pbx` takes the
        app over: sessions that run side by side and take trunk calls need separate instances.
        Ports: ARI 8100-8199, SIP/trunk pairs 5100-5199; RTP shares 10000-19999 (Asterisk skips
        ports in use). Call discard() when done.
        """
        ari_port = _free_port(socket.SOCK_STREAM, range(8100, 8200))
        sip_port = _free_port(socket.SOCK_DGRAM, range(5100, 5200, 2), pair=True)
        return cls.for_instance(
            f"{prefix}-{os.getpid()}", ari_port=ari_port, sip_port=sip_port,
            trunk_port=sip_port + 1, rtp_timeout=rtp_timeout,
        )

    def discard(self) -> None:
        """Stop this instance and delete its directory (for instances made by private())."""
        self.stop()
        shutil.rmtree(self.root / "srv" / "pbx" / self.name, ignore_errors=True)

    @property
    def installed(self) -> bool:
        return (self.root / "usr" / "sbin" / "asterisk").is_file()

    @property
    def recordings(self) -> Path:
        """Where ARI stored recordings of this instance appear on the host (NAME.wav etc.)."""
        return self.spool / "recording"

    @property
    def sip_target(self) -> str:
        """What sipp dials: Asterisk's UDP SIP address."""
        return f"127.0.0.1:{self.sip_port}"

    @property
    def events_url(self) -> str:
        """The ARI events WebSocket URL, without the app parameter."""
        return self.ari_url.replace("http://", "ws://", 1) + "/ari/events"

    def app_env(self) -> dict[str, str]:
        """The PBX_ARI_* variables that point the pbx app at this instance."""
        return {
            "PBX_ARI_URL": self.ari_url,
            "PBX_ARI_USER": self.user,
            "PBX_ARI_PASSWORD": self.password,
        }

    def require_installed(self) -> None:
        if not self.installed:
            raise SandboxError(
                f"the sandbox Asterisk is not installed (no {self.root}/usr/sbin/asterisk): "
                "run `scripts/asterisk-sandbox install` once (needs root, ~1 min)"
            )

    def _script(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return _run_script(" ".join(args), {**os.environ, **self.script_env}, timeout, args)

    def start(self) -> None:
        """Start it (no-op when already running with the same configuration)."""
        self.require_installed()
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def restart(self) -> None:
        self.require_installed()
        self._script("restart")

    def is_running(self) -> bool:
        done = subprocess.run(
            [str(SANDBOX_SCRIPT), "status"],
            env={**os.environ, **self.script_env},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0

    def cli(self, command: str) -> str:
        """Run one Asterisk CLI command (e.g. 'queue add member PJSIP/x to bench')."""
        return self._script("cli", command, timeout=30).stdout

    def ari(self, method: str, path: str, body: object | None = None) -> object:
        """One blocking ARI REST call (path below /ari); returns the decoded JSON or None."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.ari_url}/ari/{path.lstrip('/')}", data=data, method=method
        )
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise SandboxError(f"ARI {method} {path}: {error.code} {detail}") from None
        return json.loads(payload) if payload else None

    def provision_desk_phone(
        self, endpoint: str, sip_port: int, *, context: str = "from-agents"
    ) -> None:
        """Create a PJSIP endpoint + aor + auth (in memory, over ARI) for a sipp desk phone on
        sip_port.

        The fields are the "desk phone" ones documented in pjsip/pjsip.conf, with a random
        password nobody uses (calls to the phone are not challenged; calls from it would be).
        They vanish when Asterisk restarts.
        """
        base = "asterisk/config/dynamic/res_pjsip"
        self.ari(
            "PUT",
            f"{base}/auth/{endpoint}",
            _fields(auth_type="userpass", username=endpoint, password=secrets.token_urlsafe(18)),
        )
        self.ari(
            "PUT",
            f"{base}/aor/{endpoint}",
            _fields(
                contact=f"sip:{endpoint}@127.0.0.1:{sip_port}",
            ),
        )
        self.ari(
            "PUT",
            f"{base}/endpoint/{endpoint}",
            _fields(
                context=context,
                transport="transport-udp",
                disallow="all",
                allow="ulaw,alaw",
                direct_media="no",
                dtmf_mode="rfc4733",
                rtp_symmetric="yes",
                auth=endpoint,
                aors=endpoint,
            ),
        )

    def remove_desk_phone(self, endpoint: str) -> None:
        base = "asterisk/config/dynamic/res_pjsip"
        for kind in ("endpoint", "aor", "auth"):
            with contextlib.suppress(SandboxError):
                self.ari("DELETE", f"{base}/{kind}/{endpoint}")


def _fields(**values: str) -> dict[str, list[dict[str, str]]]:
    return {"fields": [{"attribute": k, "value": v} for k, v in values.items()]}


def _run_script(
    what: str,
    env: Mapping[str, str],
    timeout: float = 60.0,
    args: Sequence[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    argv = [str(SANDBOX_SCRIPT), *(args if args is not None else what.split())]
    try:
        done = subprocess.run(
            argv, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(f"`{shlex.join(argv)}` did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise SandboxError(
            f"`{shlex.join(argv)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done


def _parse_exports(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            values[key] = value
    return values


# --------------------------------------------------------------------------------------------
# sipp


@dataclass(frozen=True)
class SippResult:
    """What one sipp run did: exit code, call counters from its stats file, and its error log."""

    returncode: int
    created: int
    successful: int
    failed: int
    stats: Mapping[str, str]
    errors: str
    output: str
    command: Sequence[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.successful == self.created

    def describe(self) -> str:
        """For assertion messages: counters, command, start of the error log, end of the output."""
        return (
            f"sipp exit {self.returncode}: {self.successful}/{self.created} successful, "
            f"{self.failed} failed\n$ {shlex.join(self.command)}\n"
            f"errors:\n{self.errors[:3000]}\noutput (end):\n{self.output[-2000:]}"
        )


def scenario_path(scenario: str | Path) -> Path:
    """A scenario by file name in scripts/sipp (e.g. 'caller-hangs-up.xml') or by path."""
    path = Path(scenario)
    if not path.is_absolute() and len(path.parts) == 1:
        path = SIPP_DIR / path
    if not path.is_file():
        raise FileNotFoundError(f"no sipp scenario {path}")
    return path


def customer_scenario(directory: Path, *, person: bytes, machine: bytes) -> Path:
    """A copy of customer.xml (a campaign's customers on the trunk port) whose person and
    machine say `person` and `machine` (PCMU, e.g. pbx_stasis.testcall.greetings.spoken): sipp
    reads play_pcap_audio files while it parses the scenario, so they are written into it."""
    from pbx_stasis.testcall.greetings import write_rtp_pcap

    directory.mkdir(parents=True, exist_ok=True)
    hello = write_rtp_pcap(directory / "person.pcap", person)
    greeting = write_rtp_pcap(directory / "machine.pcap", machine)
    text = (SIPP_DIR / "customer.xml").read_text()
    path = directory / "customer.xml"
    path.write_text(text.replace("@PERSON_PCAP@", str(hello))
                    .replace("@MACHINE_PCAP@", str(greeting)))
    return path


def caller_dtmf_scenario(
    digits: str,
    directory: Path,
    *,
    first_delay_ms: int = 1000,
    gap_ms: int = 300,
) -> Path:
    """Write a copy of caller-dtmf.xml that keys `digits` (0-9 * #) and return its path.

    The caller waits first_delay_ms after the ACK, then sends each digit (~140 ms of RFC 4733
    events) every gap_ms, then waits for the BYE (accepted at any point, even mid-digits).
    """
    if gap_ms < 200:
        raise ValueError("gap_ms below 200 ms would overlap the ~140 ms digit captures")
    if first_delay_ms < 1:
        raise ValueError("first_delay_ms must be at least 1 ms")
    unknown = sorted(set(digits) - set(_DTMF_FILES))
    if unknown:
        raise ValueError(f"no RFC 4733 capture for {unknown}; use 0-9, * and #")
    template = (SIPP_DIR / "caller-dtmf.xml").read_text()
    head, _, rest = template.partition(_DTMF_BEGIN)
    _, _, tail = rest.partition(_DTMF_END)
    # every wait listens for the BYE, so the other side may hang up at any point
    block = [_DTMF_BEGIN]
    waits = [first_delay_ms] + [gap_ms] * len(digits)
    labels = [f"dtmf_{n}" for n in range(1, len(digits) + 1)] + ["dtmf_done"]
    for number, (wait, label) in enumerate(zip(waits, labels, strict=True)):
        block.append(
            f'  <recv request="BYE" timeout="{wait}" ontimeout="{label}" next="remote_bye"/>'
        )
        block.append(f'  <label id="{label}"/>')
        if number < len(digits):
            pcap = SIPP_DTMF_DIR / f"dtmf_2833_{_DTMF_FILES[digits[number]]}.pcap"
            block.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
    block.append("  " + _DTMF_END)
    directory.mkdir(parents=True, exist_ok=True)
    safe = digits.replace("*", "s").replace("#", "p")
    path = directory / f"caller-dtmf-{safe}-{first_delay_ms}-{gap_ms}.xml"
    path.write_text(head + "\n".join(block) + tail)
    return path


def free_media_port(low: int = CALLER_MEDIA_RANGE[0], high: int = CALLER_MEDIA_RANGE[1],
                    address: str = "127.0.0.1") -> int:
    """A media port mp (multiple of 4) with mp..mp+3 free on `address` right now."""
    start = low + (os.getpid() * 4) % max(4, high - low)
    start -= start % 4
    candidates: list[int] = [*range(start, high - 3, 4), *range(low - low % 4, start, 4)]
    for port in candidates:
        if all(_udp_free(port + offset, address) for offset in range(4)):
            return port
    raise SandboxError(f"no free block of 4 UDP ports in {low}-{high} on {address}")


def worker_share(candidates: range) -> range:
    """This pytest-xdist worker's part of `candidates` (all of it outside xdist): workers that
    probe for a free port at the same moment never find the same one."""
    size = len(candidates)
    return candidates[_WORKER_NUMBER * size // _WORKERS:(_WORKER_NUMBER + 1) * size // _WORKERS]


def first_free(candidates: range, free: Callable[[int], bool], what: str = "port") -> int:
    """The first port of this worker's share of `candidates` that `free` holds for, from a
    place of this process's own (sessions side by side try different ports first)."""
    candidates = worker_share(candidates)
    start = (os.getpid() * 7) % len(candidates)
    ordered: list[int] = [*candidates[start:], *candidates[:start]]
    for port in ordered:
        if free(port):
            return port
    raise SandboxError(f"no free {what} in {candidates}")


def _free_port(kind: int, candidates: range, *, pair: bool = False) -> int:
    """The first port of `candidates` (and the next one when `pair`) free on 127.0.0.1, from
    this worker's share."""
    return first_free(candidates, lambda port: all(
        _port_free(kind, p) for p in ((port, port + 1) if pair else (port,))))


def _port_free(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        if kind == socket.SOCK_STREAM:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _udp_free(port: int, address: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _sipp_command(
    scenario: Path,
    *,
    target: str | None,
    keys: Mapping[str, str],
    local_port: int | None,
    local_address: str = "127.0.0.1",
    media_port: int,
    stats_file: Path,
    error_file: Path,
    timeout: float,
    extra_args: Sequence[str],
) -> list[str]:
    command = ["sipp"]
    for key, value in keys.items():
        # sipp checks [keywords] while it parses -sf: keys must come first
        command += ["-key", key, str(value)]
    command += [
        "-sf",
        str(scenario),
        "-i",
        local_address,
        "-mp",
        str(media_port),
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(stats_file),
        "-fd",
        "1",
        "-trace_err",
        "-error_file",
        str(error_file),
        "-timeout",
        f"{max(1, round(timeout))}s",
        "-timeout_error",
    ]
    if local_port is not None:
        command += ["-p", str(local_port)]
    command += list(extra_args)
    if target:
        command.append(target)
    return command


def _result(
    command: Sequence[str], returncode: int, output: str, stats_file: Path, error_file: Path
) -> SippResult:
    stats: dict[str, str] = {}
    with contextlib.suppress(OSError):
        rows = list(csv.reader(stats_file.read_text().splitlines(), delimiter=";"))
        if len(rows) >= 2:
            stats = dict(zip(rows[0], rows[-1], strict=False))
    errors = ""
    with contextlib.suppress(OSError):
        errors = error_file.read_text(errors="replace")

    def count(name: str) -> int:
        try:
            return int(stats.get(name, "0") or 0)
        except ValueError:
            return 0

    return SippResult(
        returncode=returncode,
        created=count("TotalCallCreated"),
        successful=count("SuccessfulCall(C)"),
        failed=count("FailedCall(C)"),
        stats=stats,
        errors=errors,
        output=output,
        command=list(command),
    )


def run_sipp(
    scenario: str | Path,
    target: str,
    *,
    service: str = "100",
    caller: str = "0611223344",
    calls: int = 1,
    rate: float = 10.0,
    max_concurrent: int | None = None,
    local_port: int | None = None,
    local_address: str = "127.0.0.1",
    media_port: int | None = None,
    keys: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
    workdir: Path | None = None,
) -> SippResult:
    """Run a sipp UAC scenario to completion (blocking), never longer than `timeout` seconds.

    `service` is the dialled number (-s), `caller` the From user (key `caller`); `keys` adds or
    overrides sipp -key values (e.g. talk_ms for caller-hangs-up.xml, default 1000).
    `local_address` is where sipp sends from: Asterisk tells endpoints it identifies by address
    apart by it (127.0.0.1 is the trunk; Sandbox.bench_caller the app_queue baseline).
    In async tests use run_sipp_async so the event loop keeps reading ARI events meanwhile.
    """
    path = scenario_path(scenario)
    all_keys = {"caller": caller, "talk_ms": "1000", **(keys or {})}
    used_keys = {k: v for k, v in all_keys.items() if f"[{k}]" in path.read_text()}
    workdir = workdir or Path(tempfile.mkdtemp(prefix="sipp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{path.stem}-{time.monotonic_ns()}"
    stats_file, error_file = workdir / f"{stamp}.csv", workdir / f"{stamp}.errors"
    command = _sipp_command(
        path,
        target=target,
        keys=used_keys,
        local_port=local_port,
        local_address=local_address,
        media_port=media_port if media_port is not None else free_media_port(),
        stats_file=stats_file,
        error_file=error_file,
        timeout=timeout,
        extra_args=[
            "-s",
            service,
            "-m",
            str(calls),
            "-r",
            str(rate),
            *(["-l", str(max_concurrent)] if max_concurrent else []),
            *extra_args,
        ],
    )
    try:
        done = subprocess.run(
            command,
            cwd=workdir,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout + 10,
            check=False,
        )
        returncode, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        # sipp ignored its own -timeout: it was killed; report it as a failure
        returncode = -9
        output = _text(expired.stdout) + _text(expired.stderr)
    return _result(command, returncode, output, stats_file, error_file)


async def run_sipp_async(scenario: str | Path, target: str, **options: Any) -> SippResult:
    """run_sipp in a worker thread (same arguments)."""
    return await asyncio.to_thread(functools.partial(run_sipp, scenario, target, **options))


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class SippAgent:
    """A long-running sipp UAS (a desk phone) answering calls until stop()."""

    def __init__(
        self,
        scenario: str | Path = "agent-answer.xml",
        *,
        sip_port: int,
        media_port: int,
        keys: Mapping[str, str] | None = None,
        lifetime: float = 300.0,
        workdir: Path | None = None,
        extra_args: Sequence[str] = (),
        local_address: str = "127.0.0.1",
    ) -> None:
        path = scenario_path(scenario)
        all_keys = {"ring_ms": "100", "talk_ms": "2000", **(keys or {})}
        used_keys = {k: v for k, v in all_keys.items() if f"[{k}]" in path.read_text()}
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sipp-agent-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        stamp = f"{path.stem}-{sip_port}-{time.monotonic_ns()}"
        self._stats_file = self.workdir / f"{stamp}.csv"
        self._error_file = self.workdir / f"{stamp}.errors"
        self._output_file = self.workdir / f"{stamp}.out"
        self.sip_port = sip_port
        self.local_address = local_address
        self.command = _sipp_command(
            path,
            target=None,
            keys=used_keys,
            local_port=sip_port,
            local_address=local_address,
            media_port=media_port,
            stats_file=self._stats_file,
            error_file=self._error_file,
            timeout=lifetime,
            extra_args=extra_args,
        )
        self._output = open(self._output_file, "w")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        self.result: SippResult | None = None
        self._wait_listening()

    def _wait_listening(self) -> None:
        def listening() -> bool:
            if self.process.poll() is not None:
                raise SandboxError("sipp exited")
            return not _udp_free(self.sip_port, self.local_address)

        try:
            wait_until(listening, every=0.02)
        except (AssertionError, SandboxError):
            result = self.stop()
            raise SandboxError(f"sipp agent did not start:\n{result.describe()}") from None

    def stop(self, grace: float = 3.0) -> SippResult:
        """Stop (SIGUSR1: finish calls in progress, then exit; kill after `grace` seconds)."""
        if self.result is not None:
            return self.result
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(2)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._output.close()
        output = self._output_file.read_text(errors="replace")
        self.result = _result(
            self.command, self.process.returncode, output, self._stats_file, self._error_file
        )
        return self.result

    def __enter__(self) -> SippAgent:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def desk_phones(
    sandbox: Sandbox,
    count: int,
    *,
    scenario: str | Path = "agent-answer.xml",
    prefix: str = "desk",
    first_index: int = 0,
    keys: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> Iterator[list[tuple[str, SippAgent]]]:
    """`count` endpoints (prefix-1..N) provisioned, each answered by a sipp agent; removed after."""
    phones: list[tuple[str, SippAgent]] = []
    try:
        for number in range(count):
            index = first_index + number
            endpoint = f"{prefix}-{index + 1}"
            sip_port, media_port = desk_phone_ports(index)
            sandbox.provision_desk_phone(endpoint, sip_port)
            agent = SippAgent(
                scenario, sip_port=sip_port, media_port=media_port, keys=keys, workdir=workdir
            )
            phones.append((endpoint, agent))
        yield phones
    finally:
        for endpoint, agent in phones:
            agent.stop()
            sandbox.remove_desk_phone(endpoint)
