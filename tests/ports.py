"""A free TCP port on loopback, as the kernel picks it: for a server a test starts (a web
process, PostgreSQL, an RPC) or an address nobody answers on. The live Asterisk's and sipp's
ports follow their own conventions instead (tests/integration/sandbox.py)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
