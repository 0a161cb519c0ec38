"""Supervision route tests share the recording tests' small web world (access_world.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ has no __init__.py: pytest puts each test folder on sys.path when it collects it, so
# this folder's tests only see tests/unit/recording when run with it; add it explicitly.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
