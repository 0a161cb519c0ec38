"""A masked two-party call carried over a kill -9 of `pbx run`, on the real stack: the rider
(sipp) talks with the driver (the carrier's sipp) through the virtual number, the app is killed
and started again, the two go on talking (Asterisk keeps them bridged), and when the rider
hangs up the driver is hung up too and the call's end is journaled against its mapping
(`masked.end`, adopted). The mapping outlives the restart: the driver then calls the rider
back through the same number."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from faults_process import REPO, Floor, pbx
from polling import eventually
from ports import free_port
from sandbox import Sandbox, run_sipp_async
from test_caller_id_live import Carrier, presented

from pbx_stasis.store import Database, Directory
from pbx_stasis.virtualnumbers.service import PoolNumber, VirtualNumbers

pytestmark = pytest.mark.integration

VIRTUAL = "+14155550170"
RIDER, DRIVER = "+14155552041", "+14155552042"


@contextlib.contextmanager
def bare_floor(sandbox: Sandbox, workdir: Path) -> Iterator[Floor]:
    """`pbx run` on a migrated SQLite database, nothing else (no queue, agent or IVR: the
    virtual number answers by itself); stopped (killed if it hangs) at the end."""
    env = {**sandbox.app_env(), "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/pbx.db",
           "PBX_WEB_ENABLED": "false", "PBX_WEB_PORT": str(free_port()),
           "PYTHONPATH": str(REPO)}  # the code of this checkout, whatever the venv installed
    pbx(env, "migrate")
    center = Floor(env, workdir, {})
    try:
        yield center
    finally:
        if center.process is not None:
            center.process.terminate(15)


async def rides(url: str) -> int:
    """The tenant's virtual number and the rider and driver's mapping on it (its id)."""
    db = Database.connect(url)
    try:
        tenant = await Directory(db).ensure_tenant("default")
        store = VirtualNumbers(db)
        assert await store.set_pool(tenant.id, [PoolNumber(VIRTUAL, "Rides")]) == []
        row = await store.create_mapping(tenant.id, RIDER, DRIVER, ttl=timedelta(minutes=10),
                                         virtual=None, reference="ride 44", by="test")
        await db.writes.settle()
        return row.id
    finally:
        await db.dispose()


async def test_a_masked_call_is_carried_over_a_kill_with_its_mapping(
        private_sandbox: Sandbox, tmp_path: Path) -> None:
    with bare_floor(private_sandbox, tmp_path) as center:
        mapping = await rides(center.url)
        carrier = await asyncio.to_thread(Carrier, private_sandbox, tmp_path)
        try:
            center.start()
            rider = asyncio.create_task(run_sipp_async(
                "caller-hangs-up.xml", private_sandbox.sip_target, service=VIRTUAL,
                caller=RIDER, keys={"talk_ms": "10000"}, timeout=60, workdir=tmp_path))
            await eventually(lambda: center.journal("transfer.answered"), until=bool,
                             within=20, every=0.2, what="the driver answered")
            center.kill()
            center.start()
            result = await rider  # a BYE from the app's side first would fail it
            assert result.ok, result.describe()

            async def ended() -> list[dict[str, object]]:
                return [row.data for row in await center.journal("masked.end")]

            [end] = await eventually(ended, until=bool, within=20, every=0.2,
                                     what="the carried-over call's end")
            assert (end["mapping"], end["virtual"], end["adopted"]) == (mapping, VIRTUAL, True)
            back = await run_sipp_async(
                "caller-hangs-up.xml", private_sandbox.sip_target, service=VIRTUAL,
                caller=DRIVER, keys={"talk_ms": "1000"}, timeout=25, workdir=tmp_path)
            assert back.ok, back.describe()
            assert center.stop() == 0
        finally:
            far = await asyncio.to_thread(carrier.sipp.stop)
        # The driver was rung once, hung up after the rider (the carried-over call), then the
        # rider was rung by the driver's call back: both shown only the virtual number.
        assert far.successful == 2, far.describe()
        invites = carrier.invites()
        assert [invite["request"].split()[1].split("@")[0] for invite in invites] == [
            f"sip:{DRIVER}", f"sip:{RIDER}"]
        assert [presented(invite) for invite in invites] == [
            ((VIRTUAL, VIRTUAL), (VIRTUAL, VIRTUAL))] * 2
        connects = [row.data["mapping"] for row in await center.journal("masked.connect")]
        assert connects == [mapping, mapping]
        ends = [row.data for row in await center.journal("masked.end")]
        assert [(d["mapping"], d["reason"]) for d in ends] == [
            (mapping, "carried_over"), (mapping, "caller_hangup")]
