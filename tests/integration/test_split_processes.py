"""Web and Stasis as two `pbx run` processes sharing one database: an admin logs in to the web
process and creates a queue, which the web process asks of the Stasis process (the ACD's owner).
The event relay between the two is covered in tests/unit/remote."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp
import pytest
from pbxproc import PbxProcess, pbx_command
from sandbox import Sandbox

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_web_process_drives_the_stasis_process(private_sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    web_port, rpc_port = _free_port(), _free_port()
    env = {**private_sandbox.app_env(), "PBX_DATABASE_URL": url, "PBX_RPC_SECRET": "split-test",
           "PBX_RPC_URL": f"http://127.0.0.1:{rpc_port}", "PBX_WEB_PORT": str(web_port),
           "PBX_WEB_ENABLED": "true"}
    assert pbx_command(["migrate"], env).returncode == 0
    added = pbx_command(["user", "add", "root", "--role", "admin", "--password", "pw-root-1"],
                        env)
    assert added.returncode == 0, added.stderr
    stasis = PbxProcess({**env, "PBX_WEB_ENABLED": "true"}, tmp_path / "stasis.log",
                        args=["run", "--part", "stasis"])
    web = PbxProcess(env, tmp_path / "web.log", args=["run", "--part", "web"])
    try:
        stasis.wait_for_log("serving the web process")
        web.wait_for_log("relaying telephony events")
        base = f"http://127.0.0.1:{web_port}"
        async with aiohttp.ClientSession(
            base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as client:
            html = await (await client.get("/login")).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)
            assert token, html
            login = await client.post("/login", allow_redirects=False, data={
                "tenant": "default", "username": "root", "password": "pw-root-1",
                "csrf_token": token.group(1), "next": ""})
            assert login.status == 303, await login.text()
            me = await (await client.get("/api/me")).json()
            csrf = {"X-CSRF-Token": me["csrf_token"]} if "csrf_token" in me else {}
            created = await client.post("/api/queues", headers=csrf, json={
                "name": "split", "strategy": "ringall", "ring_timeout": 12})
            assert created.status in (200, 201), await created.text()
            queues = await (await client.get("/api/queues")).json()
        assert any(q["name"] == "split" and q["strategy"] == "ringall" for q in
                   (queues["queues"] if isinstance(queues, dict) else queues)), queues
    finally:
        assert web.terminate() == 0, web.log()
        assert stasis.terminate() == 0, stasis.log()
    # The queue went through the Stasis process (the ACD's owner) into the shared database.
    listed = pbx_command(["queue", "list"], env)
    assert "split\tringall" in listed.stdout, listed.stdout + listed.stderr
