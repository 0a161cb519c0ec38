"""The cluster on one machine: which processes, on which ports (read from PBX_CLUSTER_* variables).

Pure: no process is started here (main.py does that).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
MAX_NODES = 8
CONTROLLERS = 2  # active and standby (pbx run --part stasis), the role leased in PostgreSQL
WEB_PROCESSES = 2  # pbx run --part web, on one port


class ClusterError(Exception):
    """A problem the user can act on (printed without a traceback)."""


@dataclass(frozen=True)
class Node:
    """One Asterisk node: a sandbox instance whose systemname is `name`."""

    name: str  # systemname: the prefix of its channel ids, the app's node name
    instance: str  # the sandbox instance (PBX_SANDBOX_NAME)
    ari_port: int
    sip_port: int
    rtp_start: int
    rtp_end: int

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.ari_port}"

    @property
    def sip(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    def sandbox_env(self, trunk_port: int) -> dict[str, str]:
        return {
            "PBX_SANDBOX_NAME": self.instance,
            "PBX_SANDBOX_SYSTEMNAME": self.name,
            "PBX_SANDBOX_ARI_PORT": str(self.ari_port),
            "PBX_SANDBOX_SIP_PORT": str(self.sip_port),
            "PBX_SANDBOX_TRUNK_PORT": str(trunk_port),
            "PBX_SANDBOX_RTP_START": str(self.rtp_start),
            "PBX_SANDBOX_RTP_END": str(self.rtp_end),
        }


@dataclass(frozen=True)
class Topology:
    name: str
    state_dir: Path
    nodes: tuple[Node, ...]
    # where the carrier takes calls, at carrier:trunk_port (sipp plays it); the nodes' trunk is
    # the edge (node_trunk_port), which relays their calls to a number there
    trunk_port: int
    carrier: str  # the carrier's source address: its calls need no credentials at the edge
    edge_sip_port: int
    edge_ws_port: int
    web_port: int  # both web processes' (the kernel spreads browsers over them)
    database_url: str
    rpc_ports: tuple[int, ...]  # each controller's RPC (web processes, /readyz), in order
    pg_port: int | None  # the cluster's own PostgreSQL; None: PBX_DATABASE_URL's server

    @property
    def edge_sip(self) -> str:
        return f"127.0.0.1:{self.edge_sip_port}"

    @property
    def edge_ws(self) -> str:
        return f"ws://127.0.0.1:{self.edge_ws_port}"

    def app_env(self, ari_password: str) -> dict[str, str]:
        """What `pbx run` (the controller) is started with."""
        return {
            "PBX_ARI_URL": self.nodes[0].ari_url,
            "PBX_ARI_NODES": ",".join(f"{n.name}={n.ari_url}" for n in self.nodes),
            "PBX_ARI_USER": "pbx",
            "PBX_ARI_PASSWORD": ari_password,
            "PBX_EDGE_SIP": self.edge_sip,
            "PBX_EDGE_WEBSOCKET": self.edge_ws,
            "PBX_DATABASE_URL": self.database_url,
            "PBX_WEB_PORT": str(self.web_port),
        }

    @property
    def node_trunk_port(self) -> int:
        """Where the nodes' trunk sends outside calls: the edge (on 127.0.0.1, like the nodes),
        never the carrier itself."""
        return self.edge_sip_port

    def rpc_url(self, index: int) -> str:
        """Where controller `index` (0, 1) serves the web processes and its /readyz."""
        return f"http://127.0.0.1:{self.rpc_ports[index]}"


def _int(env: Mapping[str, str], key: str, default: int, low: int = 1, high: int = 65535) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ClusterError(f"{key}={raw!r}: expected a whole number {low}..{high}")
    return int(raw)


def _ports(env: Mapping[str, str], key: str, default: list[int], count: int) -> list[int]:
    raw = env.get(key, "").strip()
    if not raw:
        return default[:count]
    try:
        ports = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ClusterError(f"{key}={raw!r}: expected ports separated by commas") from None
    if len(ports) < count or any(not 0 < p < 65536 for p in ports):
        raise ClusterError(f"{key}={raw!r}: expected {count} ports 1..65535")
    return ports[:count]


def load(env: Mapping[str, str] | None = None, nodes: int | None = None) -> Topology:
    """The cluster named PBX_CLUSTER_NAME (default `cluster`), PBX_CLUSTER_NODES nodes
    (default 2): each port list from its variable, else the defaults below."""
    env = os.environ if env is None else env
    name = env.get("PBX_CLUSTER_NAME", "").strip() or "cluster"
    if not _NAME.match(name):
        raise ClusterError(f"PBX_CLUSTER_NAME={name!r}: 1-16 of a-z, 0-9, '_', a letter first")
    count = nodes if nodes is not None else _int(env, "PBX_CLUSTER_NODES", 2, 1, MAX_NODES)
    if not 1 <= count <= MAX_NODES:
        raise ClusterError(f"--nodes {count}: 1..{MAX_NODES}")
    raw_dir = env.get("PBX_CLUSTER_DIR", "").strip()
    state_dir = (Path(raw_dir).expanduser() if raw_dir
                 else Path.home() / ".cache" / "pbx-stasis" / "cluster" / name).resolve()
    ari = _ports(env, "PBX_CLUSTER_ARI_PORTS", [8088 + 2 * i for i in range(MAX_NODES)], count)
    sip = _ports(env, "PBX_CLUSTER_SIP_PORTS", [5060 + 2 * i for i in range(MAX_NODES)], count)
    rtp_first = _int(env, "PBX_CLUSTER_RTP_START", 10000, 1024, 60000)
    rtp_size = _int(env, "PBX_CLUSTER_RTP_PER_NODE", 5000 // count, 100, 30000)
    built = tuple(
        Node(name=f"node{i + 1}", instance=f"{name}-node{i + 1}", ari_port=ari[i],
             sip_port=sip[i], rtp_start=rtp_first + i * rtp_size,
             rtp_end=rtp_first + (i + 1) * rtp_size - 1)
        for i in range(count))
    # the standby controller needs PostgreSQL (the role's lease): the cluster's own server
    # unless PBX_DATABASE_URL names one
    database = env.get("PBX_DATABASE_URL", "").strip()
    pg_port = None if database else _int(env, "PBX_CLUSTER_PG_PORT", 5440)
    if pg_port is not None:
        database = f"postgresql+asyncpg://pbx@127.0.0.1:{pg_port}/pbx"  # postgres.url()
    rpc = _ports(env, "PBX_CLUSTER_RPC_PORTS", [8091, 8093], CONTROLLERS)
    topology = Topology(
        name=name, state_dir=state_dir, nodes=built,
        trunk_port=_int(env, "PBX_CLUSTER_TRUNK_PORT", 5070),
        carrier=env.get("PBX_CLUSTER_CARRIER", "").strip() or "127.0.0.2",
        edge_sip_port=_int(env, "PBX_CLUSTER_EDGE_SIP_PORT", 5080),
        edge_ws_port=_int(env, "PBX_CLUSTER_EDGE_WS_PORT", 5081),
        web_port=_int(env, "PBX_WEB_PORT", 8080),
        database_url=database,
        rpc_ports=tuple(rpc),
        pg_port=pg_port,
    )
    used = [*ari, *sip, *rpc, topology.trunk_port, topology.edge_sip_port,
            topology.edge_ws_port, *([pg_port] if pg_port else [])]
    if len(set(used)) != len(used):
        raise ClusterError(f"ports overlap: {sorted(used)}")
    return topology
