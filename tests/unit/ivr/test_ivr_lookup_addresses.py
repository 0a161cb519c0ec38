"""Lookups reach internal addresses only for tenants the operator opted in: at validation (the
url as written) and again before each request (the rendered url, and the addresses a name
resolves to), against a real HTTP server on 127.0.0.1 that counts what reaches it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from ivr_testing import one_flow

from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.inbound import Call
from pbx_stasis.config import load_settings
from pbx_stasis.ivr.addresses import PublicResolver, public_session, refused_url
from pbx_stasis.ivr.core import HttpLookup, LookupFailed, LookupResult
from pbx_stasis.ivr.hosts import internal_host
from pbx_stasis.ivr.loader import check_sources
from pbx_stasis.ivr.runner import LOCAL_EVENT, FlowRun, FlowTools
from pbx_stasis.store.calls import CallRecord
from pbx_stasis.store.tables import CallStatus, Direction


@pytest.mark.parametrize(
    ("host", "internal"),
    [
        ("127.0.0.1", True),
        ("127.1", True),  # getaddrinfo reads it as 127.0.0.1
        ("2130706433", True),
        ("0x7f.0.0.1", True),
        ("169.254.169.254", True),
        ("10.20.30.40", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("[::1]", True),
        ("[fe80::1]", True),
        ("[fd00::1]", True),
        ("[::ffff:169.254.169.254]", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("api.localhost", True),
        ("printer.local", True),
        ("metadata.google.internal", True),
        ("crm", True),
        ("8.8.8.8", False),
        ("[2606:4700:4700::1111]", False),
        ("crm.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_internal_hosts(host: str, internal: bool) -> None:
    assert (internal_host(host) is not None) == internal


def _lookup_flow(url: str, internal_lookups: bool) -> list[str]:
    nodes = f"a: {{kind: lookup, url: '{url}', next: b, on_failure: b}}\nb: {{kind: hangup}}\n"
    text = "flows:\n  f:\n    dids: ['100']\n    entry: a\n    nodes:\n" + "".join(
        f"      {line}\n" for line in nodes.splitlines()
    )
    _, problems = check_sources([("f.yaml", text)], internal_lookups=internal_lookups)
    return [f"{p.pos.line}:{p.pos.column}: {p.message}" for p in problems]


def test_an_internal_lookup_is_refused_unless_the_tenant_is_opted_in() -> None:
    assert _lookup_flow("http://127.0.0.1:8088/ari/channels", internal_lookups=False) == [
        "6:30: lookup node 'a': url: 127.0.0.1 is an internal address; lookups reach only "
        "public addresses unless the operator lists the tenant in [ivr] internal_lookups"
    ]
    assert _lookup_flow("http://127.0.0.1:8088/ari/channels", internal_lookups=True) == []
    assert _lookup_flow("https://crm.example.com/c?caller=${caller}", internal_lookups=False) == []


def test_the_example_flow_still_validates() -> None:
    one_flow("a: {kind: lookup, url: 'https://crm.example.com/x', next: b, on_failure: b}\n"
             "b: {kind: hangup}")


def test_rendered_urls_are_checked_as_aiohttp_reads_them() -> None:
    assert refused_url("http://127.0.0.1:8088/ari") == "127.0.0.1 is an internal address"
    assert refused_url("http://[::1]/") is not None
    assert refused_url("http://user:pw@169.254.169.254/latest") is not None
    assert refused_url("https://crm.example.com/customers?caller=%2B1555") is None


def test_the_setting_names_tenants_in_pbx_toml_or_the_environment(tmp_path: Any) -> None:
    config = tmp_path / "pbx.toml"
    config.write_text('[ivr]\ninternal_lookups = ["default", "acme"]\n', encoding="utf-8")
    assert load_settings(config, {}).ivr.internal_lookups == ("default", "acme")
    env = {"PBX_IVR_INTERNAL_LOOKUPS": ""}
    assert load_settings(config, env).ivr.internal_lookups == ()
    assert load_settings(None, {}).ivr.internal_lookups == ()


@asynccontextmanager
async def crm() -> AsyncIterator[tuple[int, list[str]]]:
    """A CRM on 127.0.0.1 that records every request reaching it."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        seen.append(request.path_qs)
        return web.json_response({"tier": "gold"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield port, seen
    finally:
        await runner.cleanup()


def _call() -> Call:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    record = CallRecord(
        "c1", 1, "ch1", None, Direction.INBOUND, "+15550100", "100", now,
        None, None, None, None, None, None, None, None, CallStatus.LIVE,
    )
    # The lookup reaches neither ARI nor the call log: it posts its outcome to the inbox.
    return Call(cast(Any, None), cast(Any, None), EventInbox("ch1"), record, {})


async def _lookup(url: str, internal_lookups: bool) -> object:
    flowset = one_flow("a: {kind: hangup}")
    call = _call()
    async with aiohttp.ClientSession() as http, public_session() as public_http:
        tools = FlowTools(http=http, public_http=public_http)
        run = FlowRun(call, flowset, tools, internal_lookups=internal_lookups)
        await run._http_lookup(HttpLookup("GET", url, (), None, 2.0))
    event = await call.inbox.wait_for([LOCAL_EVENT], within=1)
    return event["event"]


async def test_the_runner_refuses_an_internal_lookup_before_any_request() -> None:
    async with crm() as (port, seen):
        outcome = await _lookup(f"http://127.0.0.1:{port}/customers", internal_lookups=False)
        assert outcome == LookupFailed("refused: 127.0.0.1 is an internal address")
        outcome = await _lookup(f"http://localhost:{port}/customers", internal_lookups=False)
        assert outcome == LookupFailed("refused: localhost names the local machine or network")
        assert seen == []
        outcome = await _lookup(f"http://127.0.0.1:{port}/customers", internal_lookups=True)
        assert outcome == LookupResult(200, {"tier": "gold"})
        assert seen == ["/customers"]


async def test_a_name_resolving_inside_is_refused_when_resolved() -> None:
    # What the url check cannot know: the addresses a public-looking name leads to.
    with pytest.raises(OSError, match=r"resolves to the internal address 127\.0\.0\.1"):
        await PublicResolver().resolve("localhost", 80, socket.AF_INET)
    async with crm() as (port, seen), public_session() as public_http:
        with pytest.raises(aiohttp.ClientConnectorError):
            await public_http.get(f"http://localhost:{port}/")
        assert seen == []


def test_pbx_ivr_validate_checks_as_a_tenant(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pbx_stasis.cli.main import main as pbx

    config = tmp_path / "pbx.toml"
    config.write_text('[ivr]\ninternal_lookups = ["acme"]\n', encoding="utf-8")
    monkeypatch.setenv("PBX_CONFIG", str(config))
    flow = Path(__file__).parent / "hostile" / "lookup_loopback.yaml"
    assert pbx(["ivr", "validate", str(flow)]) == 1
    assert "127.0.0.1 is an internal address" in capsys.readouterr().err
    assert pbx(["ivr", "validate", str(flow), "--tenant", "globex"]) == 1
    assert pbx(["ivr", "validate", str(flow), "--tenant", "acme"]) == 0


class _Directory(AbstractResolver):
    """DNS for the test: crm.example.com is this machine's test CRM."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        assert host == "crm.example.com"
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


async def test_a_redirect_is_not_followed_for_a_tenant_not_opted_in() -> None:
    # A public CRM answering 302 Location: http://169.254.169.254/... must not lead there.
    seen: list[str] = []

    async def moved(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        if request.path == "/customers":
            raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/inside")
        return web.json_response({"secret": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    call = _call()
    connector = aiohttp.TCPConnector(resolver=_Directory())
    try:
        async with aiohttp.ClientSession() as http, aiohttp.ClientSession(
            connector=connector
        ) as public_http:
            tools = FlowTools(http=http, public_http=public_http)
            run = FlowRun(call, one_flow("a: {kind: hangup}"), tools, internal_lookups=False)
            url = f"http://crm.example.com:{port}/customers"
            await run._http_lookup(HttpLookup("GET", url, (), None, 2.0))
    finally:
        await runner.cleanup()
    outcome = (await call.inbox.wait_for([LOCAL_EVENT], within=1))["event"]
    assert isinstance(outcome, LookupResult) and outcome.status == 302
    assert seen == ["/customers"]
