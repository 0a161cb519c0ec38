"""The operator's endpoints of a real `pbx run` (sandbox Asterisk, sipp, PostgreSQL): /metrics
counts a real call (parsed with prometheus_client's own parser), /readyz says 503 naming ARI
while Asterisk is stopped and naming the database while PostgreSQL is, and is ready again after
each; /healthz stays 200 throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pbxproc import PbxProcess, pbx_command
from pg import PostgresServer
from polling import eventually
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from sandbox import Sandbox, run_sipp_async

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics answer by (name, labels)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def _get(client: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with client.get(path) as answer:
        body = (await answer.text() if path.endswith("/metrics")
                else await answer.json(content_type=None))
        return answer.status, body


async def test_metrics_count_a_call_and_readiness_follows_asterisk_and_the_database(
    private_sandbox: Sandbox, postgres: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**private_sandbox.app_env(), "PBX_DATABASE_URL": pg_url, "PBX_WEB_ENABLED": "true",
           "PBX_WEB_PORT": str(port)}
    assert pbx_command(["migrate"], env).returncode == 0
    pbx = PbxProcess(env, tmp_path / "pbx.log")
    try:
        pbx.wait_for_log("web pages at")
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as client:
            async def readiness() -> tuple[int, Any]:
                return await _get(client, "/readyz")

            await eventually(readiness, until=lambda r: r[0] == 200, within=20,
                             what="ready after the start")
            # A real call: answered, greeted, hung up by the app.
            result = await run_sipp_async("caller-waits-bye.xml", private_sandbox.sip_target,
                                          service="5551000", timeout=20)
            assert result.ok, result.describe()

            async def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
                status, text = await _get(client, "/metrics")
                assert status == 200, text
                return samples(text)

            figures = await eventually(
                scraped, until=lambda f: f.get(
                    ("pbx_calls_ended_total", frozenset({("by", "app")})), 0) >= 1,
                within=10, what="the call counted as ended")
            assert figures[("pbx_calls_started_total",
                            frozenset({("direction", "inbound")}))] == 1
            assert figures[("pbx_ari_events_total", frozenset({("type", "StasisStart")}))] >= 1
            answers = figures[("pbx_ari_request_seconds_count",
                               frozenset({("operation", "channels.answer")}))]
            assert answers >= 1
            assert figures[("pbx_calls", frozenset({("stage", "ivr")}))] == 0
            assert figures[("pbx_ari_connected", frozenset())] == 1
            assert figures[("pbx_store_commit_seconds_count", frozenset())] >= 1
            assert figures[("process_resident_memory_bytes", frozenset())] > 0

            # Asterisk stops: not ready, naming ARI; alive all the same.
            await asyncio.to_thread(private_sandbox.stop)
            _, body = await eventually(readiness, until=lambda r: r[0] == 503,
                                       within=15, what="503 without Asterisk")
            assert any(reason.startswith("ari:") for reason in body["reasons"]), body
            assert (await _get(client, "/healthz"))[0] == 200
            await asyncio.to_thread(private_sandbox.start)
            await eventually(readiness, until=lambda r: r[0] == 200, within=30,
                             what="ready again with Asterisk back")
            _, text = await _get(client, "/metrics")
            assert samples(text)[("pbx_ari_reconnects_total", frozenset())] >= 1

            # PostgreSQL stops: not ready, naming the database.
            with postgres.down(at_most=30):
                _, body = await eventually(readiness, until=lambda r: r[0] == 503,
                                           within=15, what="503 without the database")
                assert body["reasons"] == ["database: unreachable"], body
                assert (await _get(client, "/healthz"))[0] == 200
            await eventually(readiness, until=lambda r: r[0] == 200, within=20,
                             what="ready again with the database back")
    finally:
        assert pbx.terminate() == 0, pbx.log()


async def test_split_deployment_stasis_figures_and_readiness(private_sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    """`pbx run --part stasis` serves its own /metrics and /readyz on its RPC address; the
    web process is ready while the Stasis process says it is."""
    web_port, rpc_port = free_port(), free_port()
    env = {**private_sandbox.app_env(), "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/p.db",
           "PBX_RPC_SECRET": "split-health", "PBX_RPC_URL": f"http://127.0.0.1:{rpc_port}",
           "PBX_WEB_PORT": str(web_port), "PBX_WEB_ENABLED": "true"}
    assert pbx_command(["migrate"], env).returncode == 0
    stasis = PbxProcess(env, tmp_path / "stasis.log", args=["run", "--part", "stasis"])
    web = PbxProcess(env, tmp_path / "web.log", args=["run", "--part", "web"])
    try:
        stasis.wait_for_log("serving the web process")
        web.wait_for_log("web pages at")
        async with aiohttp.ClientSession() as client:
            rpc, pages = f"http://127.0.0.1:{rpc_port}", f"http://127.0.0.1:{web_port}"
            # The RPC address serves before the ARI socket is up: wait for the link.
            _, text = await eventually(
                lambda: _get(client, rpc + "/metrics"),
                until=lambda r: r[0] == 200
                and samples(r[1]).get(("pbx_ari_connected", frozenset())) == 1,
                within=20, what="the Stasis process's ARI link on its /metrics")

            async def readiness() -> tuple[int, Any]:
                return await _get(client, pages + "/readyz")

            await eventually(readiness, until=lambda r: r[0] == 200, within=20,
                             what="the web process ready")
            # The web process has no ARI link of its own: its figures are the Stasis side's.
            status, text = await _get(client, pages + "/metrics")
            assert status == 200, text
            assert ("pbx_ari_connected", frozenset()) not in samples(text)
            assert stasis.terminate() == 0, stasis.log()
            _, body = await eventually(readiness, until=lambda r: r[0] == 503, within=10,
                                       what="503 with the Stasis process gone")
            assert body["reasons"] == ["stasis: unreachable"], body
    finally:
        assert web.terminate() == 0, web.log()
        stasis.terminate()
