"""Fixtures for integration tests: the sandbox Asterisk (see tests/integration/sandbox.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox import XDIST_WORKER, Sandbox, SandboxError


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The shared sandbox instance ($PBX_SANDBOX_NAME, default `default`).

    Started if needed and stopped at the end only if this session started it. Never skipped: a
    missing install fails with the command to run. Under pytest-xdist each worker has one of
    its own on free ports instead: no worker stops another's, and none waits for the default's
    fixed ports, which another worker's sipp may hold by then (sipp's own default is 5060).
    """
    if XDIST_WORKER is not None:
        yield from _private_instance(f"shared-{XDIST_WORKER}")
        return
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
    yield from _private_instance("t")


def _private_instance(prefix: str) -> Iterator[Sandbox]:
    try:
        instance = Sandbox.private(prefix)
        instance.require_installed()
        instance.start()
    except SandboxError as problem:
        pytest.fail(str(problem), pytrace=False)
    try:
        yield instance
    finally:
        instance.discard()
