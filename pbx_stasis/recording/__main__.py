"""`python -m pbx_stasis.recording purge|policy|rules ...` (see recording/cli.py)."""

from __future__ import annotations

import sys

from pbx_stasis.recording.cli import main

if __name__ == "__main__":
    sys.exit(main())
