"""Fixtures for integration tests: the sandbox Asterisk (see tests/integration/sandbox.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox import Sandbox, SandboxError


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The shared sandbox instance ($PBX_SANDBOX_NAME, default `default`).

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


@pytest.fixture(scope="session")
def private_sandbox() -> Iterator[Sandbox]:
    """An instance of this session's own (free ports), discarded at the end.

    For tests that take trunk calls into the Stasis app `pbx`: on the shared instance another
    session's `pbx` connection would take those calls (costs ~1 s to start).
    """
    try:
        instance = Sandbox.private()
        instance.require_installed()
        instance.start()
    except SandboxError as problem:
        pytest.fail(str(problem), pytrace=False)
    try:
        yield instance
    finally:
        instance.discard()
