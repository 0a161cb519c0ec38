"""Fixtures for integration tests: the sandbox Asterisk (see tests/integration/sandbox.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox import Sandbox, SandboxError


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The running sandbox instance ($PBX_SANDBOX_NAME, default `default`).

    Started if needed and stopped at the end only if this session started it. Never skipped: a
    missing install fails with the command to run.
    """
    try:
        instance = Sandbox.for_instance()
        instance.require_installed()
        was_running = instance.is_running()
        instance.start()
    except SandboxError as problem:
        pytest.fail(str(problem), pytrace=False)
    yield instance
    if not was_running:
        instance.stop()
