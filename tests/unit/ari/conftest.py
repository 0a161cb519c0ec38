"""Fixtures for the ARI client tests: a fake ARI server on a real local socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ari_fake_server import FakeAri

from pbx_stasis.ari import AriClient


@pytest.fixture
async def fake_ari() -> AsyncIterator[FakeAri]:
    fake = FakeAri()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def ari(fake_ari: FakeAri) -> AsyncIterator[AriClient]:
    async with AriClient(
        fake_ari.base_url, fake_ari.user, fake_ari.password, timeout=2.0
    ) as client:
        yield client
