"""`python -m pbx_stasis.ivr validate|simulate|prompts ...` until the `pbx ivr` commands exist."""

from __future__ import annotations

import sys

from pbx_stasis.ivr.prompts import generate_main
from pbx_stasis.ivr.simulate import simulate_main, validate_main

USAGE = "usage: python -m pbx_stasis.ivr validate FILE... | simulate ... | prompts ..."


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("validate", "simulate", "prompts"):
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "validate":
        return validate_main(rest)
    if command == "simulate":
        return simulate_main(rest)
    return generate_main(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
