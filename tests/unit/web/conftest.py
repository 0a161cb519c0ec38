"""Fixtures of the web tests: a World (two tenants, every role) served by the real web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from web_world import World, build_world, close_world


@pytest.fixture
async def world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(sqlite_template, tmp_path)
    try:
        yield built
    finally:
        await close_world(built)
