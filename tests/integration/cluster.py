"""The cluster of scripts/cluster for tests: Kamailio in front of Asterisk nodes, on free ports,
with desk phones registered at the edge."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pbxproc import PbxProcess
from polling import wait_until
from ports import free_port
from sandbox import (
    REPO,
    SandboxError,
    SippAgent,
    _free_port,
    _port_free,
    first_free,
    free_media_port,
    run_sipp,
)

CLUSTER_SCRIPT = REPO / "scripts" / "cluster"
sys.path.append(str(REPO / "scripts"))  # after tests/integration: its `sandbox` comes first
from clusterkit.topology import load  # noqa: E402 (after the path above)

from pbx_stasis.store.tables import Call as CallRow  # noqa: E402

CARRIER = "127.0.0.2"  # where the carrier's calls come from (no credentials at the edge)


@dataclass(frozen=True)
class Cluster:
    """`scripts/cluster up --no-app` with its environment (ports, state dir, database)."""

    env: Mapping[str, str]
    state_dir: Path
    nodes: tuple[str, ...]
    ari_ports: tuple[int, ...]
    edge_sip: str

    @classmethod
    def start(cls, state_dir: Path, database_url: str, nodes: int = 2) -> Cluster:
        """Ports from PBX_CLUSTER_* when set (a developer's own), else free ones."""
        env = dict(os.environ)
        if "PBX_CLUSTER_ARI_PORTS" not in env:
            ari = [_free_port(socket.SOCK_STREAM, range(8100 + 2 * i, 8200, 2 * nodes))
                   for i in range(nodes)]
            sip = [_free_port(socket.SOCK_DGRAM, range(5100 + 2 * i, 5190, 2 * nodes))
                   for i in range(nodes)]
            edge = _edge_port()
            env.update({
                "PBX_CLUSTER_ARI_PORTS": ",".join(map(str, ari)),
                "PBX_CLUSTER_SIP_PORTS": ",".join(map(str, sip)),
                "PBX_CLUSTER_TRUNK_PORT": str(sip[0] + 1),
                "PBX_CLUSTER_EDGE_SIP_PORT": str(edge),
                "PBX_CLUSTER_EDGE_WS_PORT": str(edge + 1),
            })
        env.update({
            "PBX_CLUSTER_NAME": f"t{os.getpid() % 100000}",
            "PBX_CLUSTER_DIR": str(state_dir),
            "PBX_CLUSTER_NODES": str(nodes),
            "PBX_DATABASE_URL": database_url,
        })
        state_dir.mkdir(parents=True, exist_ok=True)
        cluster = cls(env=env, state_dir=state_dir,
                      nodes=tuple(f"node{i + 1}" for i in range(nodes)),
                      ari_ports=tuple(int(p) for p in env["PBX_CLUSTER_ARI_PORTS"].split(","))[
                          :nodes],
                      edge_sip=f"127.0.0.1:{env['PBX_CLUSTER_EDGE_SIP_PORT']}")
        try:
            cluster.run("up", "--no-app", timeout=120)
        except BaseException:
            cluster.down()  # what did start (the nodes, before a port was found taken)
            raise
        return cluster

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, str(CLUSTER_SCRIPT), *args], env=dict(self.env),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode not in (0, 3):
            raise SandboxError(f"scripts/cluster {' '.join(args)} failed ({done.returncode}):"
                               f"\n{done.stdout}{done.stderr}")
        return done

    def app_env(self) -> dict[str, str]:
        """The controller's settings (`scripts/cluster env`)."""
        values: dict[str, str] = {}
        for line in self.run("env").stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value.strip("'")
        return values

    def status(self) -> dict[str, dict[str, object]]:
        parts: dict[str, dict[str, object]] = json.loads(self.run("status", "--json").stdout)
        return parts

    @property
    def carrier_port(self) -> int:
        """Where the carrier takes the nodes' outside calls (on CARRIER), relayed by the edge."""
        return load(self.env).trunk_port

    def node_sandbox_env(self, node: str) -> dict[str, str]:
        """The node's own sandbox settings (its ports over any PBX_SANDBOX_* of the shell)."""
        topology = load(self.env)
        [found] = [n for n in topology.nodes if n.name == node]
        return {**self.env, **found.sandbox_env(topology.node_trunk_port)}

    def node_home(self, node: str) -> Path:
        """The node's sandbox instance directory (its config, logs, pid file)."""
        root = Path(os.environ.get("PBX_SANDBOX_DIR", Path.home() / ".cache/pbx-stasis/sandbox"))
        return root / "root" / "srv" / "pbx" / f"{self.env['PBX_CLUSTER_NAME']}-{node}"

    def kill_node(self, node: str) -> None:
        """kill -9 the node's Asterisk: no goodbye on any socket."""
        pid = int((self.node_home(node) / "run" / "asterisk.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), within=10)

    def start_node(self, node: str) -> None:
        self._sandbox(node, "start")

    def stop_node(self, node: str) -> None:
        """Stop the node's Asterisk as an operator does (`core stop now`: it hangs its calls
        up itself, then exits)."""
        self._sandbox(node, "stop")

    def _sandbox(self, node: str, command: str) -> None:
        done = subprocess.run([str(REPO / "scripts" / "asterisk-sandbox"), command],
                              env=self.node_sandbox_env(node), capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            raise SandboxError(f"node {node}: {command} failed:\n{done.stdout}{done.stderr}")

    def edge_flags(self, node: str) -> str:
        """The node's dispatcher flags at the edge (A: active, I: inactive; then P: probed, X:
        not probed yet)."""
        return str(self.status()[node]["edge"])

    def registered(self) -> set[str]:
        """The SIP users registered at the edge (kamcmd ul.dump)."""
        done = subprocess.run(["kamcmd", "-s", f"unix:{self.state_dir / 'kamailio.ctl'}",
                               "ul.dump"], capture_output=True, text=True, check=False)
        return {line.split(":", 1)[1].strip() for line in done.stdout.splitlines()
                if line.strip().startswith("AoR:")}

    def down(self) -> None:
        """Stop every part and remove the nodes' instance directories."""
        self.run("down", timeout=120)
        for node in self.nodes:
            shutil.rmtree(self.node_home(node), ignore_errors=True)


def node_of(row: CallRow) -> str:
    """The node that carried the call (its channel ids are qualified by node)."""
    return row.channel_id.split("-", 1)[0]


def stasis_controller(env: Mapping[str, str], log: Path) -> tuple[PbxProcess, str]:
    """A controller as scripts/cluster runs it: `pbx run --part stasis` over every node of
    `env` (the cluster's app_env), the role leased in PostgreSQL, its RPC (the web processes',
    its /readyz) on a free port; the process and that URL."""
    url = f"http://127.0.0.1:{free_port()}"
    return PbxProcess({**env, "PBX_RPC_URL": url}, log, ["run", "--part", "stasis"]), url


def _edge_port() -> int:
    """A port for the edge's SIP, free on UDP and TCP, the next one free on TCP (its
    WebSocket). TCP is probed as Kamailio binds (SO_REUSEADDR): the last cluster's closed
    connections in TIME_WAIT there do not keep the edge out."""
    return first_free(range(5190, 5260, 2), lambda port: _port_free(socket.SOCK_DGRAM, port)
                      and all(_port_free(socket.SOCK_STREAM, p) for p in (port, port + 1)),
                      "edge ports")


def carrier_media_port() -> int:
    """4 UDP ports free on the carrier's address (sipp takes mp..mp+3)."""
    return free_media_port(address=CARRIER)


async def websocket_register(
    url: str, user: str, password: str,
    while_registered: Callable[[aiohttp.ClientWebSocketResponse], Awaitable[None]] | None = None,
) -> int:
    """A browser's REGISTER over SIP-over-WebSocket (RFC 7118), answering the digest challenge
    (RFC 2617, qop=auth) as JsSIP does; the final status. Once registered (200), the connection
    is handed to `while_registered` (what reaches the browser there), then closed."""
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url, protocols=("sip",)) as socket_:
        host = url.split("//", 1)[1].rstrip("/")
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)

        def register(cseq: int, authorization: str = "") -> str:
            return (f"REGISTER sip:{host} SIP/2.0\r\n"
                    f"Via: SIP/2.0/WS browser.invalid;branch=z9hG4bK{secrets.token_hex(6)}\r\n"
                    f"From: <sip:{user}@{host}>;tag={tag}\r\nTo: <sip:{user}@{host}>\r\n"
                    f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n"
                    f"Contact: <sip:{user}@browser.invalid;transport=ws>;expires=600\r\n"
                    f"{authorization}Content-Length: 0\r\n\r\n")

        await socket_.send_str(register(1))
        challenge = (await socket_.receive_str(timeout=5))
        header = next(line for line in challenge.split("\r\n")
                      if line.lower().startswith("www-authenticate:"))
        fields = dict(re.findall(r'(\w+)="?([^",]+)"?', header.split(":", 1)[1]))
        realm, nonce = fields["realm"], fields["nonce"]

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # SIP digest (RFC 2617) is MD5

        cnonce, uri = secrets.token_hex(8), f"sip:{host}"
        answer = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:00000001:{cnonce}:auth:"
                     f"{md5(f'REGISTER:{uri}')}")
        await socket_.send_str(register(2, (
            f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{answer}", algorithm=MD5, qop=auth, nc=00000001, '
            f'cnonce="{cnonce}"\r\n')))
        final = await socket_.receive_str(timeout=5)
        status = int(final.split(" ", 2)[1])
        if status == 200 and while_registered is not None:
            await while_registered(socket_)
        return status


async def next_request(socket_: aiohttp.ClientWebSocketResponse, method: str,
                       within: float = 5) -> str:
    """The next `method` request that reaches a browser's WebSocket (an OPTIONS before it is
    answered 200, as JsSIP does)."""
    async with asyncio.timeout(within):
        while True:
            message = await socket_.receive_str()
            if message.startswith(f"{method} "):
                return message
            if message.startswith("OPTIONS "):
                await socket_.send_str(sip_reply(message, 200, "OK"))


def sip_reply(request: str, status: int, reason: str) -> str:
    """A browser's reply to `request` (its Via, Record-Route, From, To with a tag of its own,
    Call-ID and CSeq, as RFC 3261 8.2.6 says)."""
    head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    kept = [line for line in head if line.split(":", 1)[0].strip().lower() in (
        "via", "v", "record-route", "from", "f", "to", "t", "call-id", "i", "cseq")]
    kept = [line + ";tag=browser1" if line.split(":", 1)[0].strip().lower() in ("to", "t")
            and ";tag=" not in line else line for line in kept]
    return (f"SIP/2.0 {status} {reason}\r\n" + "\r\n".join(kept)
            + "\r\nContact: <sip:browser@browser.invalid;transport=ws>\r\nContent-Length: 0"
            "\r\n\r\n")


def first_phone() -> int:
    """The first desk-phone index (sandbox.desk_phone_ports) of this process's cluster phones:
    900-949, apart from the fixed indexes of the other live tests (up to 860), and from other
    sessions' (by pid); room for 50 phones."""
    return 900 + os.getpid() % 50


def registered_phone(cluster: Cluster, endpoint: str, password: str, sip_port: int,
                     media_port: int, workdir: Path, lifetime: float = 420) -> SippAgent:
    """A desk phone registered at the edge as `endpoint`, then answering there."""
    done = run_sipp("agent-registers.xml", cluster.edge_sip, local_port=sip_port,
                    media_port=media_port, keys={"user": endpoint, "expires": "3600"},
                    extra_args=["-au", endpoint, "-ap", password], timeout=10, workdir=workdir)
    if not done.ok:
        raise SandboxError(f"{endpoint} did not register at the edge:\n{done.describe()}")
    return SippAgent("agent-answer.xml", sip_port=sip_port, media_port=media_port,
                     keys={"ring_ms": "100"}, workdir=workdir, lifetime=lifetime)
