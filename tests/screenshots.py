"""Where the browser tests put their screenshots: build/screenshots/, never the tracked docs/.

`scripts/screenshots` sets $PBX_SCREENSHOTS to docs/screenshots to refresh the README's pictures
on purpose; an ordinary test run leaves the checkout as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "build" / "screenshots"


def folder() -> Path:
    """The screenshot folder of this run ($PBX_SCREENSHOTS, relative to the repository)."""
    chosen = os.environ.get("PBX_SCREENSHOTS")
    return REPO / chosen if chosen else DEFAULT
