"""The front door: `scripts/demo`, as the README tells a new user to run it, on an instance of its
own. It must seed, start, serve the agent's page to a demo login, and take a call from the phone
network through the support IVR's sales line into the sales queue."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pbxproc import read_calls
from sandbox import Sandbox, run_sipp_async

REPO = Path(__file__).resolve().parents[2]
SALES_LINE = "+97145550200"  # examples/ivr/support.yaml: greeting, then the sales queue


class Demo:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc, self.log_path = proc, log

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/demo exited {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not printed in {timeout}s:\n{self.log()}")
            await asyncio.sleep(0.1)


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def demo(tmp_path: Path) -> Iterator[tuple[Demo, Sandbox, dict[str, str]]]:
    instance = Sandbox.private("demo")
    env = {
        **os.environ,
        **instance.script_env,
        "PBX_WEB_PORT": str(_free_tcp_port()),
        "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
    }
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(REPO / "scripts" / "demo")], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        yield Demo(proc, log), instance, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        instance.discard()


async def _agent_page(base: str, password: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form_page = await (await client.get(f"{base}/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form_page)
        assert token, form_page
        form = {"tenant": "default", "username": "alice", "password": password,
                "csrf_token": token.group(1), "next": ""}
        login = await client.post(f"{base}/login", data=form, allow_redirects=False)
        assert (login.status, login.headers.get("Location")) == (303, "/agent"), login.status
        page = await client.get(f"{base}/agent")
        return page.status, await page.text()


async def test_the_demo_starts_serves_an_agent_and_queues_a_call(
    demo: tuple[Demo, Sandbox, dict[str, str]],
) -> None:
    process, instance, env = demo
    await process.wait_for("web pages at http://", timeout=300)
    await process.wait_for("ARI events connected", timeout=30)
    output = process.log()
    for step in ("==> sandbox Asterisk", "==> database", "Demo logins", "pbx-stasis is starting"):
        assert step in output, output
    assert re.search(r"agent\s+alice\s+password \S+", output), output

    logins = json.loads((REPO / "var" / "demo-logins.json").read_text())
    status, html = await _agent_page(f"http://127.0.0.1:{env['PBX_WEB_PORT']}", logins["alice"])
    assert status == 200 and "Alice Agent" in html, html[:500]

    # Nobody is available (the agents' softphones are not registered): the caller hears the
    # greeting, waits in the sales queue, and hangs up after 4 s.
    result = await run_sipp_async("caller-hangs-up.xml", instance.sip_target, service=SALES_LINE,
                      caller="+971501234567", keys={"talk_ms": "4000"}, timeout=30)
    assert result.ok, result.describe()
    deadline = time.monotonic() + 10
    while True:
        calls = await read_calls(env["PBX_DATABASE_URL"])
        events = [e.event for _, lines in calls for e in lines]
        if "ABANDON" in events or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert len(calls) == 1, calls
    record, _ = calls[0]
    assert record.to_number == SALES_LINE, record
    assert [e for e in ("ENTERQUEUE", "ABANDON") if e in events] == ["ENTERQUEUE", "ABANDON"], (
        events
    )

    # Ctrl-C, as the demo's banner says, stops it cleanly.
    process.proc.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(process.proc.wait, 20) == 0, process.log()[-2000:]
