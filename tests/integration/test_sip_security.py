"""SIP from an address that is not the trunk's: every kind of endpoint refuses it without
credentials (issue 11, findings 1 and 2), while the trunk's own address still reaches the app.

The probes are raw SIP over UDP from 127.0.0.2 (another loopback address, i.e. "another host"
for Asterisk), so each test reads exactly which responses came back.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from callcenter import CallCenter, call_center
from polling import eventually
from sandbox import Sandbox, SandboxError

from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.calls.inbound import Call, CallScript
from pbx_stasis.store import Directory

pytestmark = pytest.mark.integration

ELSEWHERE = "127.0.0.2"  # not the sandbox trunk's address (127.0.0.1)
TRUNK_ADDRESS = "127.0.0.1"
PREMIUM = "+19005550123"  # what the attack of issue 11 dialled
REFUSALS = {401, 403, 404}


@dataclass
class Exchange:
    """What Asterisk answered to one request: every status code, in order."""

    method: str
    codes: list[int] = field(default_factory=list)
    challenged: bool = False  # a 401 carried WWW-Authenticate

    @property
    def final(self) -> int | None:
        """The last final answer (a challenged request answered again has two)."""
        return next((c for c in reversed(self.codes) if c >= 200), None)


class SipProbe:
    """One UDP socket on `address` that sends single requests to Asterisk and reads the answers;
    it closes what it opened (ACK of a final answer, CANCEL of a ringing call, BYE of an answered
    one), so a probe that gets through leaves no channel behind."""

    def __init__(self, address: str, target: tuple[str, int]) -> None:
        self.address = address
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def invite(self, from_user: str, number: str = PREMIUM, within: float = 4.0) -> Exchange:
        host, port = self.target
        sdp = (
            f"v=0\r\no=- 1 1 IN IP4 {self.address}\r\ns=-\r\nc=IN IP4 {self.address}\r\n"
            f"t=0 0\r\nm=audio {self.port + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        dialog = self._dialog(f"sip:{number}@{host}:{port}", from_user, f"sip:{number}@{host}")
        exchange = Exchange("INVITE")
        branch = self._send(dialog, "INVITE", 1, body=sdp, content_type="application/sdp")
        final = self._final(exchange, within)
        if final is None and exchange.codes:  # trying or ringing on and on: cancel it
            self._send(dialog, "CANCEL", 1, branch=branch)
            final = self._final(exchange, within)
        if final is None:
            return exchange
        answered = {**dialog, "to": _header(final, "to") or dialog["to"]}
        if _status(final) >= 300:  # the ACK of a refusal belongs to the INVITE's transaction
            self._send(answered, "ACK", 1, branch=branch)
        else:  # it got through: end the call at the far end's contact
            contact = (_header(final, "contact") or "").strip("<>").split(">")[0]
            answered["uri"] = contact or dialog["uri"]
            self._send(answered, "ACK", 1)
            self._send(answered, "BYE", 2)
            self._receive(2.0)
        return exchange

    def register(self, user: str, password: str | None = None, within: float = 4.0) -> Exchange:
        """REGISTER as `user`; with a password, answer the digest challenge (MD5, qop=auth)."""
        host, port = self.target
        dialog = self._dialog(f"sip:{host}:{port}", user, f"sip:{user}@{host}")
        exchange = Exchange("REGISTER")
        self._send(dialog, "REGISTER", 1, extra=("Expires: 60",))
        reply = self._final(exchange, within)
        if password is not None and reply is not None and _status(reply) == 401:
            authorization = _digest(reply, "REGISTER", dialog["uri"], user, password)
            self._send(dialog, "REGISTER", 2,
                       extra=("Expires: 60", f"Authorization: {authorization}"))
            self._final(exchange, within)
        return exchange

    def _final(self, exchange: Exchange, within: float) -> str | None:
        """Read answers to `exchange.method` until a final one (returned) or `within` s."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            reply = self._receive(left)
            if reply is None or _cseq_method(reply) != exchange.method:
                continue
            code = _status(reply)
            exchange.codes.append(code)
            exchange.challenged |= code == 401 and "www-authenticate" in _names(reply)
            if code >= 200:
                return reply
        return None

    def _dialog(self, uri: str, from_user: str, to_uri: str) -> dict[str, str]:
        return {
            "uri": uri,
            "from": f"<sip:{from_user}@{self.target[0]}>;tag={secrets.token_hex(6)}",
            "to": f"<{to_uri}>",
            "call_id": f"{secrets.token_hex(10)}@{self.address}",
            "contact": f"<sip:{from_user}@{self.address}:{self.port}>",
        }

    def _send(
        self,
        dialog: dict[str, str],
        method: str,
        cseq: int,
        *,
        branch: str | None = None,
        body: str = "",
        content_type: str = "",
        extra: tuple[str, ...] = (),
    ) -> str:
        branch = branch or f"z9hG4bK{secrets.token_hex(8)}"
        lines = [
            f"{method} {dialog['uri']} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.address}:{self.port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: {dialog['from']}",
            f"To: {dialog['to']}",
            f"Call-ID: {dialog['call_id']}",
            f"CSeq: {cseq} {method}",
            f"Contact: {dialog['contact']}",
            "User-Agent: pbx-stasis-sip-probe",
            *extra,
        ]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        message = "\r\n".join(lines) + "\r\n\r\n" + body
        self.sock.sendto(message.encode(), self.target)
        return branch

    def _receive(self, within: float) -> str | None:
        self.sock.settimeout(max(within, 0.01))
        try:
            data, _ = self.sock.recvfrom(65535)
        except TimeoutError:
            return None
        text = data.decode(errors="replace")
        return text if text.startswith("SIP/2.0 ") else None


def _status(reply: str) -> int:
    return int(reply.split(" ", 2)[1])


def _lines(reply: str) -> list[str]:
    """The header lines of a message."""
    return reply.split("\r\n\r\n", 1)[0].split("\r\n")[1:]


def _value_of(line: str, name: str) -> str | None:
    key, _, value = line.partition(":")
    return value.strip() if key.strip().lower() == name else None


def _names(reply: str) -> set[str]:
    return {line.split(":", 1)[0].strip().lower() for line in _lines(reply) if ":" in line}


def _header(reply: str, name: str) -> str | None:
    return next((v for line in _lines(reply) if (v := _value_of(line, name)) is not None), None)


def _digest(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    """The Authorization header answering the MD5 challenge of a 401 (RFC 7616, qop=auth)."""
    offers = [_header_values(value) for line in _lines(challenge)
              if (value := _value_of(line, "www-authenticate"))]
    offer = next(o for o in offers if o.get("algorithm", "MD5").upper() == "MD5")
    realm, nonce, cnonce = offer["realm"], offer["nonce"], secrets.token_hex(8)
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
    opaque = f', opaque="{offer["opaque"]}"' if "opaque" in offer else ""
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc=00000001, '
            f'cnonce="{cnonce}"{opaque}')


def _header_values(value: str) -> dict[str, str]:
    pairs = re.findall(r'(\w+)="?([^",]*)"?', value.removeprefix("Digest"))
    return {key.lower(): item for key, item in pairs}


def _cseq_method(reply: str) -> str:
    return (_header(reply, "cseq") or " ").split()[-1]


def _noting(entered: list[str]) -> Callable[[CallCenter], CallScript]:
    """Script for calls that reach the app: note the channel, do nothing (run_call hangs up)."""

    def build(center: CallCenter) -> CallScript:
        async def script(call: Call) -> None:
            entered.append(call.channel_id)

        return script

    return build


async def _agent(center: CallCenter, username: str, *, contact: str | None) -> AgentRecord:
    """An agent made through the app's own path (directory, then the ACD provisions it)."""
    user = await Directory(center.db).add_user("default", username, "agent")
    record = await AcdDirectory(center.db).save_agent(user.id, queues={"sales": 0},
                                                      contact=contact)
    await center.app.acd.save_agent(record)
    return record


def _endpoint_fields(sandbox: Sandbox, endpoint: str) -> dict[str, str]:
    try:
        fields = sandbox.ari("GET", f"asterisk/config/dynamic/res_pjsip/endpoint/{endpoint}")
    except SandboxError as problem:
        pytest.fail(f"endpoint {endpoint} was not provisioned: {problem}")
    assert isinstance(fields, list)
    return {f["attribute"]: f["value"] for f in fields}


async def _probe(sandbox: Sandbox, address: str, method: str, *args: str) -> Exchange:
    """One request (SipProbe.invite or .register with `args`) from `address`, off the loop."""

    def run() -> Exchange:
        probe = SipProbe(address, ("127.0.0.1", sandbox.sip_port))
        try:
            exchange: Exchange = getattr(probe, method)(*args)
            return exchange
        finally:
            probe.close()

    return await asyncio.to_thread(run)


async def test_no_endpoint_takes_calls_or_registrations_from_elsewhere_without_credentials(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    entered: list[str] = []
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=_noting(entered)) as center:
        desk = await _agent(center, "deskphone",
                            contact=f"sip:deskphone@127.0.0.1:{private_sandbox.trunk_port + 1}")
        browser = await _agent(center, "browser", contact=None)
        # both exist in Asterisk (an unknown name is challenged too: that would prove nothing)
        for agent in (desk, browser):
            _endpoint_fields(private_sandbox, agent.endpoint)

        refused: dict[str, Exchange] = {}
        # each to a number its context routes (the benchmark's context has no `+` pattern)
        for who, number in (("trunk", PREMIUM), ("bench-app-queue", "100"),
                            (desk.endpoint, PREMIUM), (browser.endpoint, PREMIUM)):
            refused[f"INVITE as {who}"] = await _probe(
                private_sandbox, ELSEWHERE, "invite", who, number)
        for agent in (desk, browser):
            refused[f"REGISTER as {agent.endpoint}"] = await _probe(
                private_sandbox, ELSEWHERE, "register", agent.endpoint)

        # positive controls, so that a dead port could not pass: a carrier's INVITE from the
        # trunk's own address enters the app, and the browser agent's REGISTER with its
        # password from that same address reaches the agent, not the trunk
        control = await _probe(private_sandbox, TRUNK_ADDRESS, "invite", "+15550001", "5000")
        registered = await _probe(private_sandbox, TRUNK_ADDRESS, "register",
                                  browser.endpoint, browser.sip_password)
        await eventually(lambda: entered, within=10)
        await center.idle()
        await asyncio.sleep(0.5)  # a probe that got in late would have started by now
        starts = await center.journal("CALLSTART")

    problems = {
        what: exchange.codes for what, exchange in refused.items()
        if exchange.final not in REFUSALS or any(code < 300 for code in exchange.codes)
    }
    assert not problems, f"not refused (status codes seen): {problems}"
    for agent in (desk, browser):
        for method in ("INVITE", "REGISTER"):
            answer = refused[f"{method} as {agent.endpoint}"]
            assert answer.codes == [401] and answer.challenged, (method, agent.endpoint, answer)
    assert control.final is not None and control.final >= 300, control  # the app hung it up
    assert [row.data.get("from") for row in starts] == ["+15550001"], [r.data for r in starts]
    assert registered.codes == [401, 200], registered
