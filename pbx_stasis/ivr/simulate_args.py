"""The arguments of `pbx ivr simulate` (simulate.py walks the call), apart from the simulator:
`pbx` builds its parser without loading the flows' loader and interpreter."""

from __future__ import annotations

import argparse


def simulate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pbx ivr simulate",
        description="Walk a call through IVR flows without Asterisk and print each step.",
    )
    p.add_argument("files", nargs="+", help="flow files (one FlowSet)")
    p.add_argument("--did", required=True, help="dialled number, e.g. +97145550100")
    p.add_argument("--caller", default="anonymous", help="caller number, e.g. +971501234567")
    p.add_argument(
        "--digits",
        default="",
        help="keys per prompt, comma separated, e.g. 2,1,12345678# (empty entry: time out)",
    )
    p.add_argument(
        "--at",
        help="call time with UTC offset, e.g. 2026-11-20T21:00+04:00 (default: now)",
    )
    p.add_argument("--lookup-json", help="JSON file every lookup answers with (else lookups fail)")
    p.add_argument("--lookup-status", type=int, default=200, help="HTTP status of lookups")
    p.add_argument("--queue-exit", help="the ACD hands the call back with this reason")
    p.add_argument("--transfer-fails", help="transfers fail with this reason")
    return p
