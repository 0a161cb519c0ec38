"""scripts/cluster: the high-availability topology on one machine (docs/deployment.md).

    up       PostgreSQL (the cluster's own unless PBX_DATABASE_URL names one), the Asterisk nodes
             (sandbox instances, systemname = node name), Kamailio (the SIP edge: kamailio.cfg
             from pbx_stasis/edge/kamailio.py), then the app unless --no-app: two controllers
             (`pbx run --part stasis`, each over every node's ARI; one active, one standby, the
             role leased in PostgreSQL) and two web processes (`pbx run --part web`, one port)
    down     stops them all (PostgreSQL keeps its data for the next `up`)
    status   each part up or down, which controller is active; exit 0 when all are up
    env      `export ...` lines of the controller's settings (eval "$(scripts/cluster env)")
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandbox import instance as sandbox_instance
from sandbox import settings as sandbox_settings

from pbx_stasis.config import load_settings
from pbx_stasis.edge.kamailio import (
    NODE_SET,
    EdgeConfig,
    EdgeConfigError,
    SipAddress,
    kamailio_database_url,
    render,
    render_dispatcher_list,
)
from pbx_stasis.role.lease import active_controller, role_name
from pbx_stasis.store import Database

from . import postgres
from .topology import CONTROLLERS, WEB_PROCESSES, ClusterError, Topology, load

REPO = Path(__file__).resolve().parents[2]
KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"


def _pbx() -> str:
    """The `pbx` command: PBX_COMMAND, else the one beside this Python, else the repo's venv."""
    for candidate in (os.environ.get("PBX_COMMAND", ""), str(Path(sys.executable).with_name("pbx")),
                      str(REPO / ".venv" / "bin" / "pbx")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ClusterError("no `pbx` command: run scripts/demo or scripts/test once (makes .venv), "
                       "or set PBX_COMMAND")


def edge_config(topology: Topology) -> EdgeConfig:
    state = topology.state_dir
    return EdgeConfig(
        sip=SipAddress("127.0.0.1", topology.edge_sip_port),
        websocket=SipAddress("127.0.0.1", topology.edge_ws_port),
        nodes=[SipAddress("127.0.0.1", node.sip_port) for node in topology.nodes],
        carriers=[topology.carrier],
        carrier_gateway=SipAddress(topology.carrier, topology.trunk_port),
        database_url=kamailio_database_url(topology.database_url),
        ctl_socket=f"unix:{state / 'kamailio.ctl'}",
        dispatcher_file=str(state / "dispatcher.list"),
    )


# --- processes of our own (Kamailio, the app): a pid file each ------------------------------

def _pid(path: Path, needle: str) -> int | None:
    try:
        pid = int(path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if needle.encode() in cmdline else None


def _spawn(argv: list[str], log: Path, pid_file: Path, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> int:
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   env=env, cwd=cwd)
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def _group(pgid: int) -> list[int]:
    """The processes of process group `pgid` still running (zombies are gone: their sockets
    are closed)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _stop_pid(pid: int, what: str, grace: float = 10.0) -> None:
    """SIGTERM to the process's group (it leads one: _spawn), SIGKILL to what is left after
    `grace`; returns once no process of the group is left. Kamailio's children hold its
    listening sockets until they exit, after their parent: waiting for the parent alone left
    the edge's ports taken for a moment after `down`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if _group(pid):
        print(f"{what} (pid {pid}) ignored SIGTERM: SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _group(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)


def _listening(kind: int, port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`. A TCP probe binds as Kamailio does
    (SO_REUSEADDR): the connections of the last run, closed by the edge, linger in TIME_WAIT
    on its port for a minute; they keep a bind without it out, never the edge."""
    with socket.socket(socket.AF_INET, kind) as probe:
        if kind == socket.SOCK_STREAM:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _wait(predicate: object, what: str, within: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise ClusterError(f"{what} not up within {within:.0f} s{tail}")


# --- the parts --------------------------------------------------------------------------

def _node_settings(topology: Topology, index: int) -> sandbox_settings.Settings:
    node = topology.nodes[index]
    return sandbox_settings.load({**os.environ, **node.sandbox_env(topology.node_trunk_port)})


def start_nodes(topology: Topology) -> None:
    for index, node in enumerate(topology.nodes):
        print(f"==> Asterisk {node.name} (sandbox instance {node.instance})")
        sandbox_instance.start(_node_settings(topology, index))


def start_edge(topology: Topology) -> None:
    state = topology.state_dir
    config = edge_config(topology)
    (state / "kamailio.cfg").write_text(render(config))
    (state / "dispatcher.list").write_text(render_dispatcher_list(config))
    pid_file = state / "kamailio.pid"
    running = _pid(pid_file, "kamailio")
    if running is not None:  # the config may have changed: start it again
        _stop_pid(running, "kamailio")
    checked = subprocess.run([KAMAILIO, "-c", "-f", str(state / "kamailio.cfg")],
                             capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise ClusterError(f"kamailio refuses its config:\n{checked.stderr[-3000:]}")
    print(f"==> Kamailio (SIP edge) on {topology.edge_sip} udp/tcp, {topology.edge_ws}")
    _spawn([KAMAILIO, "-DD", "-E", "-f", str(state / "kamailio.cfg"), "-m", "64", "-M", "8"],
           state / "kamailio.log", pid_file)
    _wait(lambda: edge_answers(topology), "Kamailio", 10, state / "kamailio.log")


def edge_answers(topology: Topology) -> bool:
    return subprocess.run([KAMCMD, "-s", edge_config(topology).ctl_socket, "core.uptime"],
                          capture_output=True, check=False).returncode == 0


def prepare_database(topology: Topology, env: dict[str, str], *, seed: bool) -> None:
    print(f"==> database {topology.database_url}")
    pbx = _pbx()
    steps = [[pbx, "migrate"]]
    if seed:
        steps.append([str(Path(pbx).with_name("python")), "-m", "pbx_stasis.demo", "seed"])
    for argv in steps:
        done = subprocess.run(argv, env=env, cwd=topology.state_dir, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise ClusterError(f"`{shlex.join(argv)}` failed:\n{done.stdout}{done.stderr}")
        if "seed" in argv:
            print(done.stdout.rstrip())


def start_controllers(topology: Topology, env: dict[str, str]) -> None:
    """Two Stasis controllers (each over every node's ARI: PBX_ARI_NODES), the first to take
    the role in PostgreSQL active, the other standby; then the web processes, all on one port,
    each following the active controller (its RPC URL in the role's lease row)."""
    state = topology.state_dir
    for index in range(CONTROLLERS):
        name = f"controller-{index + 1}"
        if _pid(state / f"{name}.pid", "pbx") is not None:
            print(f"==> {name} already running")
            continue
        print(f"==> {name} (pbx run --part stasis) at {topology.rpc_url(index)}")
        _spawn([_pbx(), "run", "--part", "stasis"], state / f"{name}.log",
               state / f"{name}.pid", env={**env, "PBX_RPC_URL": topology.rpc_url(index)},
               cwd=state)
        health = topology.rpc_url(index) + "/healthz"
        _wait(lambda url=health: _answers(url), f"{name} (/healthz)", 60,
              state / f"{name}.log")
        if index == 0:  # active (or, started again beside a running one, its standby)
            _wait(lambda: active_index(topology) is not None, "an active controller", 60,
                  state / f"{name}.log")
    for index in range(WEB_PROCESSES):
        name = f"web-{index + 1}"
        if _pid(state / f"{name}.pid", "pbx") is not None:
            print(f"==> {name} already running")
            continue
        print(f"==> {name} (pbx run --part web) on http://127.0.0.1:{topology.web_port}/")
        _spawn([_pbx(), "run", "--part", "web"], state / f"{name}.log", state / f"{name}.pid",
               env={**env, "PBX_RPC_URL": topology.rpc_url(0)}, cwd=state)  # then the lease's
    _wait(lambda: _healthy(topology), "the web processes (/readyz)", 60, state / "web-1.log")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def active_index(topology: Topology) -> int | None:
    """Which controller holds the role (the lease row names its RPC URL) and answers."""
    app = load_settings(None, environ=dict(os.environ)).ari.app

    async def read() -> str | None:
        db = Database.connect(topology.database_url)
        try:
            return await active_controller(db, role_name(app))
        finally:
            await db.dispose()

    url = asyncio.run(read())
    for index in range(CONTROLLERS):
        if url == topology.rpc_url(index) and _pid(
                topology.state_dir / f"controller-{index + 1}.pid", "pbx") is not None \
                and _answers(topology.rpc_url(index) + "/healthz"):
            return index
    return None


def _healthy(topology: Topology) -> bool:
    return _answers(f"http://127.0.0.1:{topology.web_port}/readyz")


def rpc_secret(topology: Topology) -> str:
    """The secret between the controllers and the web processes (made once, kept)."""
    path = topology.state_dir / "rpc-secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def app_env(topology: Topology) -> dict[str, str]:
    settings = _node_settings(topology, 0)
    # this tree's code first (the venv's `pbx` may be an editable install of another checkout)
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **topology.app_env(settings.ari_password), "PYTHONPATH": path,
            "PBX_SANDBOX_ROOT": str(settings.root), "PBX_RPC_SECRET": rpc_secret(topology)}


# --- status -----------------------------------------------------------------------------

def dispatcher_states(topology: Topology) -> dict[str, str]:
    """Each node's SIP address -> its dispatcher flags (AP: active and probed; IP: inactive)."""
    done = subprocess.run([KAMCMD, "-s", edge_config(topology).ctl_socket, "dispatcher.list"],
                          capture_output=True, text=True, check=False)
    states: dict[str, str] = {}
    uri = None
    probed_set = True
    for line in done.stdout.splitlines():
        text = line.strip()
        if text.startswith("ID:"):  # a set (the nodes' is the only one)
            probed_set = text.split(":", 1)[1].strip() == str(NODE_SET)
        elif text.startswith("URI:"):
            uri = text.split("sip:", 1)[-1].strip()
        elif text.startswith("FLAGS:") and uri is not None and probed_set:
            states[uri] = text.split(":", 1)[1].strip()
    return states


def status(topology: Topology, as_json: bool = False) -> int:
    parts: dict[str, dict[str, object]] = {}
    states = dispatcher_states(topology) if edge_answers(topology) else {}
    for index, node in enumerate(topology.nodes):
        settings = _node_settings(topology, index)
        up = sandbox_instance.running_pid(settings) is not None and \
            sandbox_instance.ari_answers(settings, timeout=1)
        parts[node.name] = {"up": up, "ari": node.ari_url, "sip": node.sip,
                            "edge": states.get(node.sip, "?")}
    parts["edge"] = {"up": edge_answers(topology), "sip": topology.edge_sip,
                     "websocket": topology.edge_ws}
    if topology.pg_port is not None:
        parts["postgres"] = {"up": postgres.answers(topology.pg_port),
                             "url": topology.database_url}
    active = None
    with contextlib.suppress(Exception):  # the database away: no controller named active
        active = active_index(topology)
    for index in range(CONTROLLERS):
        name = f"controller-{index + 1}"
        alive = _pid(topology.state_dir / f"{name}.pid", "pbx") is not None and \
            _answers(topology.rpc_url(index) + "/healthz")
        parts[name] = {"up": alive, "role": ("active" if active == index else "standby")
                       if alive else "-", "rpc": topology.rpc_url(index)}
    for index in range(WEB_PROCESSES):
        name = f"web-{index + 1}"
        parts[name] = {"up": _pid(topology.state_dir / f"{name}.pid", "pbx") is not None,
                       "web": f"http://127.0.0.1:{topology.web_port}/"}
    parts["web"] = {"up": _healthy(topology),
                    "readyz": f"http://127.0.0.1:{topology.web_port}/readyz"}
    if as_json:
        print(json.dumps(parts, indent=1))
    else:
        for name, part in parts.items():
            details = "  ".join(f"{k}={v}" for k, v in part.items() if k != "up")
            print(f"{name:14} {'up' if part['up'] else 'DOWN':5} {details}")
    return 0 if all(part["up"] for part in parts.values()) and active is not None else 3


def down(topology: Topology) -> None:
    state = topology.state_dir
    ours = [*(f"web-{i + 1}.pid" for i in range(WEB_PROCESSES)),
            *(f"controller-{i + 1}.pid" for i in range(CONTROLLERS))]
    for pid_name, needle in (*((name, "pbx") for name in ours), ("kamailio.pid", "kamailio")):
        pid = _pid(state / pid_name, needle)
        if pid is not None:
            print(f"==> stopping {pid_name.removesuffix('.pid')} (pid {pid})")
            _stop_pid(pid, pid_name)
    with ThreadPoolExecutor(len(topology.nodes)) as pool:  # each node's stop waits on its own
        list(pool.map(sandbox_instance.stop,
                      [_node_settings(topology, i) for i in range(len(topology.nodes))]))
    if topology.pg_port is not None:
        postgres.stop(topology.name)


def up(topology: Topology, *, app: bool) -> None:
    topology.state_dir.mkdir(parents=True, exist_ok=True)
    for port in (topology.edge_sip_port, topology.edge_ws_port):
        if _listening(socket.SOCK_STREAM, port) and _pid(topology.state_dir / "kamailio.pid",
                                                         "kamailio") is None:
            raise ClusterError(f"port {port} is taken: pick PBX_CLUSTER_EDGE_*_PORT")
    if topology.pg_port is not None:
        postgres.start(topology.name, topology.pg_port)
    start_nodes(topology)
    env = app_env(topology)
    prepare_database(topology, env, seed=app)  # the edge reads agents' credentials from it
    start_edge(topology)
    if app:
        start_controllers(topology, env)
    controller = "not started (--no-app)"
    if app:
        controller = (f"{topology.rpc_url(0)} and {topology.rpc_url(1)} (one active, one "
                      f"standby)\n    web:        http://127.0.0.1:{topology.web_port}/ (two "
                      f"processes; logins: {topology.state_dir}/var/demo-logins.json)")
    print(f"""
==> cluster {topology.name} is up ({len(topology.nodes)} Asterisk nodes behind Kamailio)
    database:   {topology.database_url}
    nodes:      {", ".join(f"{n.name} ARI {n.ari_url} SIP {n.sip}" for n in topology.nodes)}
    SIP edge:   {topology.edge_sip} (udp/tcp: carriers from {topology.carrier}, desk phones),
                {topology.edge_ws} (browsers' softphones);
                the nodes' outside calls to the carrier at {topology.carrier}:{topology.trunk_port}
    controller: {controller}
    logs:       {topology.state_dir}/*.log
Next:
    a call from the phone network through the edge:
        sipp -sf scripts/sipp/caller-hangs-up.xml -s +97145550200 -i {topology.carrier} \\
             -m 1 {topology.edge_sip}
    scripts/cluster status          each part up or down, each node as the edge sees it,
                                    which controller is active
    kill -9 "$(cat {topology.state_dir}/controller-1.pid)": the standby takes over
    scripts/asterisk-sandbox stop with PBX_SANDBOX_NAME={topology.nodes[-1].instance}: a node dies
    scripts/cluster down""")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status", "env"))
    parser.add_argument("--nodes", type=int, default=None, help="Asterisk nodes (default 2)")
    parser.add_argument("--no-app", action="store_true", help="up: no controller")
    parser.add_argument("--json", action="store_true", help="status: as JSON")
    args = parser.parse_args(argv)
    try:
        topology = load(nodes=args.nodes)
        if args.command == "up":
            up(topology, app=not args.no_app)
        elif args.command == "down":
            down(topology)
        elif args.command == "status":
            return status(topology, as_json=args.json)
        elif args.command == "env":
            for key, value in topology.app_env(_node_settings(topology, 0).ari_password).items():
                print(f"export {key}={shlex.quote(value)}")
    except (ClusterError, EdgeConfigError, sandbox_settings.SandboxError) as problem:
        print(f"cluster: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
