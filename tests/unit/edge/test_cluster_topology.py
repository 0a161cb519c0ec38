"""scripts/cluster's topology (which node on which ports) and the controller's node settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pbx_stasis.config import ConfigError, load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

from clusterkit.topology import ClusterError, load


def test_default_two_nodes_apart_from_each_other(tmp_path: Path) -> None:
    topology = load({"PBX_CLUSTER_DIR": str(tmp_path)})
    one, two = topology.nodes
    assert (one.name, two.name) == ("node1", "node2")
    assert (one.ari_port, two.ari_port) == (8088, 8090)
    assert one.rtp_end < two.rtp_start
    env = topology.app_env("pw")
    assert env["PBX_ARI_NODES"] == "node1=http://127.0.0.1:8088,node2=http://127.0.0.1:8090"
    assert env["PBX_EDGE_SIP"] == "127.0.0.1:5080"
    # the cluster's own PostgreSQL (the controllers' role lease), each controller's RPC apart
    assert env["PBX_DATABASE_URL"] == "postgresql+asyncpg://pbx@127.0.0.1:5440/pbx"
    assert topology.pg_port == 5440
    assert [topology.rpc_url(i) for i in (0, 1)] == ["http://127.0.0.1:8091",
                                                     "http://127.0.0.1:8093"]
    assert one.sandbox_env(5070)["PBX_SANDBOX_SYSTEMNAME"] == "node1"
    # what the controller reads from it
    settings = load_settings(None, environ=env)
    assert [name for name, _ in settings.ari.nodes] == ["node1", "node2"]
    assert settings.edge.websocket == "ws://127.0.0.1:5081"


def test_ports_from_the_environment(tmp_path: Path) -> None:
    topology = load({"PBX_CLUSTER_DIR": str(tmp_path), "PBX_CLUSTER_NODES": "3",
                     "PBX_CLUSTER_ARI_PORTS": "8131,8133,8135",
                     "PBX_CLUSTER_SIP_PORTS": "5131,5133,5135"})
    assert [node.sip_port for node in topology.nodes] == [5131, 5133, 5135]
    given = load({"PBX_CLUSTER_DIR": str(tmp_path), "PBX_DATABASE_URL": "sqlite+aiosqlite:///x"})
    assert given.pg_port is None and given.database_url == "sqlite+aiosqlite:///x"


@pytest.mark.parametrize(("env", "problem"), [
    ({"PBX_CLUSTER_NODES": "9"}, "1..8"),
    ({"PBX_CLUSTER_NAME": "Bad Name"}, "PBX_CLUSTER_NAME"),
    ({"PBX_CLUSTER_ARI_PORTS": "8131"}, "expected 2 ports"),
    ({"PBX_CLUSTER_EDGE_SIP_PORT": "5060"}, "overlap"),
    ({"PBX_CLUSTER_RPC_PORTS": "8088,8093"}, "overlap"),
    ({"PBX_CLUSTER_RPC_PORTS": "8091"}, "expected 2 ports"),
])
def test_refused(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    with pytest.raises(ClusterError, match=problem):
        load({"PBX_CLUSTER_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(("value", "problem"), [
    ("node-1=http://127.0.0.1:8088", "systemname"),
    ("a=http://127.0.0.1:8088,a=http://127.0.0.1:8090", "twice"),
    ("a=http://127.0.0.1:8088,b=http://127.0.0.1:8088", "twice"),
    ("a=ftp://x", "PBX_ARI_NODES"),
])
def test_node_settings_refused(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(None, environ={"PBX_ARI_NODES": value})
