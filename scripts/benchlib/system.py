"""What the bench reads from the machine: CPU time of processes and of the whole box, free ports,
and the RTP burst the callers play."""

from __future__ import annotations

import argparse
import os
import resource
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from sandbox import worker_share

from pbx_stasis.cli import eventloop

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_parts(pid: int) -> tuple[float, float]:
    """utime + stime of `pid` (all its threads) in seconds, and stime alone (the kernel's
    part: for Asterisk its threads' wake-ups, futexes and socket writes), from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # the command name may contain spaces: fields are counted after its closing parenthesis
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[12]) / _TICK


def process_cpu(pid: int) -> float:
    """utime + stime of `pid` (all its threads) in seconds."""
    return process_cpu_parts(pid)[0]


def own_cpu() -> tuple[float, float]:
    """This process (every thread: event loop, aiosqlite's worker, sipp waiters) in seconds,
    and the part of it spent in the kernel: socket sends and receives (on loopback a send also
    runs the receiving side's TCP path), epoll, aiosqlite's file writes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def children_cpu() -> float:
    """Finished child processes (the sipp runs once they were waited for) in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    # guest time is already counted in user/nice
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass(frozen=True)
class CpuMark:
    """CPU counters at one moment; subtract two marks for a window."""

    asterisk: float
    asterisk_system: float  # of which in the kernel
    python: float  # this process
    python_system: float  # of which in the kernel
    callers: float  # finished children: the callers' sipp once it exited
    phones: float  # the desk phones' sipp (still running)
    machine_busy: float
    machine_total: float

    @classmethod
    def now(cls, asterisk_pid: int, phones_pid: int) -> CpuMark:
        busy, total = machine_busy()
        python, python_system = own_cpu()
        asterisk, asterisk_system = process_cpu_parts(asterisk_pid)
        return cls(
            asterisk,
            asterisk_system,
            python,
            python_system,
            children_cpu(),
            process_cpu(phones_pid),
            busy,
            total,
        )

    def __sub__(self, earlier: CpuMark) -> CpuMark:
        return CpuMark(
            self.asterisk - earlier.asterisk,
            self.asterisk_system - earlier.asterisk_system,
            self.python - earlier.python,
            self.python_system - earlier.python_system,
            self.callers - earlier.callers,
            self.phones - earlier.phones,
            self.machine_busy - earlier.machine_busy,
            self.machine_total - earlier.machine_total,
        )

    @property
    def rest(self) -> float:
        """Busy CPU of everything else on the machine (other work, the kernel's share...)."""
        return self.machine_busy - self.asterisk - self.python - self.callers - self.phones


def udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(candidates: range, *, tcp: bool = False, block: int = 1) -> int:
    """The first port p of `candidates` with p..p+block-1 free on 127.0.0.1 (UDP or TCP). Run by
    a test (tests/integration/test_bench_smoke*.py), from its pytest-xdist worker's share, as the
    tests' own ports are: a port probed free is not one the other worker is about to take."""
    candidates = worker_share(candidates)
    start = (os.getpid() * 7) % len(candidates)
    ordered: list[int] = [*candidates[start:], *candidates[:start]]
    for port in ordered:
        check = tcp_free if tcp else udp_free
        if all(check(port + offset) for offset in range(block)):
            return port
    raise RuntimeError(f"no free {'TCP' if tcp else 'UDP'} port in {candidates}")


def write_rtp_burst(path: Path, packets: int = 10) -> None:
    """A pcap of `packets` 20 ms PCMU packets of silence, for sipp's play_pcap_audio.

    Asterisk's Answer() waits up to 500 ms for the caller's first voice frame; a silent sipp
    caller would add those 500 ms to every app_queue call. Real phones send audio at once.
    """
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # pcap, Ethernet
    loopback = bytes([127, 0, 0, 1])
    for n in range(packets):
        rtp = struct.pack("!BBHII", 0x80, 0, n + 1, 160 * n, 0x5EED) + b"\xff" * 160
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0, loopback, loopback
        )
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        micros = n * 20_000
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
            + frame
        )
    path.write_bytes(b"".join(out))


def add_loop_argument(parser: argparse.ArgumentParser) -> None:
    """`--loop`: the event loop the app runs on in this process (pbx_stasis/cli/eventloop.py),
    to measure one against the other in the same conditions."""
    parser.add_argument("--loop", choices=eventloop.KINDS, default=None,
                        help="the app's event loop (default: PBX_EVENT_LOOP, else uvloop, as "
                             "`pbx run`)")
