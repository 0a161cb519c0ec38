"""The SIP edge's configuration: kamailio.cfg rendered from the cluster's addresses (pure, no IO;
stdlib only: scripts/cluster renders it before the project is installed).

Kamailio (Debian's package) stands in front of the Asterisk nodes:
- calls from the carriers (by source address) are dispatched over the nodes (dispatcher,
  round robin), each node probed with OPTIONS every `ping_interval` seconds: a node that stops
  answering leaves the set after `ping_misses` unanswered probes and comes back by itself
  when it answers again; an INVITE a node does not answer goes to the next one;
- agents' phones register here (UDP/TCP desk phones, WebRTC over WebSocket), every request
  from them authenticated by digest against the app's own `agents` table (`endpoint`,
  `sip_password`: the password the app gives each agent), so an agent stays registered when a
  node dies and any node reaches them: a node dials `sip:<endpoint>@<edge>` and the edge
  looks the agent up;
- what an agent's phone dials (authenticated) goes to a node too, like a carrier's call;
- a node's call to a number (its trunk's contact is the edge) goes to the carrier's gateway
  (`carrier_gateway`): the nodes know no carrier address, and a carrier sees one peer.

Media does not pass here: phones and carriers send RTP to the node that answered (SDP as the
node wrote it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

# The dispatcher set of the Asterisk nodes.
NODE_SET = 1
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


class EdgeConfigError(ValueError):
    """A setting the edge cannot be configured with (one line, names the setting)."""


@dataclass(frozen=True)
class SipAddress:
    """host:port of a SIP listener or peer."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, what: str) -> SipAddress:
        host, sep, port = text.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise EdgeConfigError(f"{what}: expected host:port, not {text!r}")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise EdgeConfigError(f"{what}: expected an IP address, not {host!r}") from None
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EdgeConfig:
    """What kamailio.cfg is rendered from."""

    sip: SipAddress  # UDP and TCP SIP: carriers, desk phones, the nodes
    websocket: SipAddress  # SIP over WebSocket (ws://host:port/) for browsers
    nodes: Sequence[SipAddress]  # the Asterisk nodes' SIP (UDP) addresses
    carriers: Sequence[str]  # source addresses whose calls need no credentials
    database_url: str  # Kamailio's form (kamailio_database_url)
    ctl_socket: str  # kamcmd's control socket (unix:/path)
    dispatcher_file: str  # where the node list is written (render_dispatcher_list)
    # where a node's call to a number goes (the carrier's SIP); None: nodes reach only agents
    carrier_gateway: SipAddress | None = None
    realm: str = "pbx-stasis"
    ping_interval: int = 1  # seconds between OPTIONS probes of each node
    ping_misses: int = 2  # unanswered probes before a node leaves the set
    probe_timeout_ms: int = 1000  # how long a probe may take
    invite_timeout_ms: int = 5000  # how long a node may take to answer an INVITE at all
    children: int = 4
    module_dir: str = MODULE_DIR
    log_level: int = 1  # 1 errors and warnings, 2 notices, 3 info
    extra_listen: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        if not self.nodes:
            raise EdgeConfigError("nodes: the edge needs at least one Asterisk node")
        if len(set(self.nodes)) != len(self.nodes):
            raise EdgeConfigError("nodes: an address is listed twice")
        if self.sip == self.websocket:
            raise EdgeConfigError("sip and websocket: the same address for both")
        if self.sip in self.nodes or self.websocket in self.nodes:
            raise EdgeConfigError("nodes: the edge's own address is listed as a node")
        if self.carrier_gateway is not None and self.carrier_gateway in (
                self.sip, self.websocket, *self.nodes):
            raise EdgeConfigError("carrier_gateway: the edge's or a node's own address")
        for carrier in self.carriers:
            try:
                ipaddress.ip_address(carrier)
            except ValueError:
                raise EdgeConfigError(
                    f"carriers: expected IP addresses, not {carrier!r}") from None
        if not 1 <= self.ping_interval <= 60:
            raise EdgeConfigError("ping_interval: 1..60 seconds")
        if not 1 <= self.ping_misses <= 10:
            raise EdgeConfigError("ping_misses: 1..10")
        if not 100 <= self.probe_timeout_ms <= 10000:
            raise EdgeConfigError("probe_timeout_ms: 100..10000")
        if not 500 <= self.invite_timeout_ms <= 30000:
            raise EdgeConfigError("invite_timeout_ms: 500..30000")

    @property
    def leave_within_s(self) -> float:
        """The longest a dead node stays in the set: its misses, each a probe interval plus
        the probe's timeout."""
        return self.ping_misses * (self.ping_interval + self.probe_timeout_ms / 1000)


def kamailio_database_url(app_url: str) -> str:
    """The app's database URL (SQLAlchemy form) as Kamailio's db_sqlite / db_postgres take it."""
    scheme, sep, rest = app_url.partition("://")
    backend = scheme.partition("+")[0]
    if not sep:
        raise EdgeConfigError(f"database url: not a URL: {app_url!r}")
    if backend == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest  # sqlite:///rel, sqlite:////abs
        path = path.partition("?")[0]
        if not path or path == ":memory:":
            raise EdgeConfigError("database url: the edge needs a SQLite file, not memory")
        if not path.startswith("/"):
            raise EdgeConfigError(
                f"database url: give the SQLite file's absolute path, not {path!r}")
        return f"sqlite://{path}"
    if backend in ("postgresql", "postgres"):
        parts = urlsplit(f"postgres://{rest}")
        auth = ""
        if parts.username:
            auth = unquote(parts.username) + (
                f":{unquote(parts.password)}" if parts.password else "") + "@"
        port = f":{parts.port}" if parts.port else ""
        database = parts.path.lstrip("/")
        if not database:
            raise EdgeConfigError("database url: no database name")
        return f"postgres://{auth}{parts.hostname or '127.0.0.1'}{port}/{database}"
    raise EdgeConfigError(f"database url: SQLite or PostgreSQL, not {backend or scheme!r}")


def _database_module(database_url: str) -> str:
    if database_url.startswith("sqlite://"):
        return "db_sqlite"
    if database_url.startswith("postgres://"):
        return "db_postgres"
    raise EdgeConfigError(f"database url: sqlite:// or postgres://, not {database_url!r}")


def render_dispatcher_list(config: EdgeConfig) -> str:
    """dispatcher.list: every node in NODE_SET (flags 0: probed like any other, priority
    by order)."""
    lines = ["# set destination flags priority attributes (generated by pbx-stasis)"]
    count = len(config.nodes)
    for number, node in enumerate(config.nodes, start=1):
        lines.append(f"{NODE_SET} sip:{node} 0 {count - number} node={number}")
    return "\n".join(lines) + "\n"


def _carrier_test(carriers: Sequence[str]) -> str:
    if not carriers:
        return "0"
    return " || ".join(f'$si == "{carrier}"' for carrier in carriers)


# A node's request for a phone number (digits, a leading +): the carrier's; anything else
# (agent-<id>) is an agent's phone.
NUMBER_PATTERN = "^[+]?[0-9]+$"


def _from_node(config: EdgeConfig) -> str:
    if config.carrier_gateway is None:
        return "        route(LOCATION);\n        exit;"
    return (f'        if (is_method("INVITE") && $rU =~ "{NUMBER_PATTERN}") {{\n'
            f"            route(CARRIER);\n        }}\n        route(LOCATION);\n        exit;")


def _carrier_route(config: EdgeConfig) -> str:
    gateway = config.carrier_gateway
    if gateway is None:
        return ""
    return f"""
route[CARRIER] {{
    # a node's outside call: to the carrier's gateway, the number kept
    $ru = "sip:" + $rU + "@{gateway}";
    t_set_fr(120000, {config.invite_timeout_ms});
    route(RELAY);
}}
"""


def render(config: EdgeConfig) -> str:
    """kamailio.cfg for `config`."""
    db_module = _database_module(config.database_url)
    listens = [
        f"listen=udp:{config.sip}",
        f"listen=tcp:{config.sip}",
        f"listen=tcp:{config.websocket}",
        *(f"listen={extra}" for extra in config.extra_listen),
    ]
    # a node has `ping_misses` probes to answer; the probe's own timeout is the transaction's
    retransmit_ms = max(100, config.probe_timeout_ms // 4)
    resort_cases = "\n".join(
        f'        case {number}:\n            $du = "sip:{node}";\n            break;'
        for number, node in enumerate(config.nodes))
    return f"""#!KAMAILIO
# Generated by pbx-stasis (pbx_stasis/edge/kamailio.py); edit the template, not this file.

debug={config.log_level}
log_stderror=no
log_facility=LOG_LOCAL0
log_prefix="{{$mt $hdr(CSeq) $ci}} "
children={config.children}
tcp_children=2
auto_aliases=no
alias="{config.sip}"
alias="{config.websocket}"
{chr(10).join(listens)}
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605
enable_tls=no

mpath="{config.module_dir}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "cfg_rpc.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "{db_module}.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "nathelper.so"
loadmodule "dispatcher.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"

modparam("ctl", "binrpc", "{config.ctl_socket}")

# Probes of the nodes and the first answer to an INVITE: a dead node is found within seconds.
modparam("tm", "fr_timer", {config.probe_timeout_ms})
modparam("tm", "fr_inv_timer", 120000)
modparam("tm", "retr_timer1", {retransmit_ms})
modparam("tm", "failure_reply_mode", 3)

modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)

# Registrations live in memory: a node's death touches none of them.
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "nat_bflag", 6)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 30)

# Agents' credentials: the app's agents table (endpoint = SIP user, sip_password).
modparam("auth_db", "db_url", "{config.database_url}")
modparam("auth_db", "user_column", "endpoint")
modparam("auth_db", "password_column", "sip_password")
modparam("auth_db", "calculate_ha1", yes)
modparam("auth_db", "use_domain", 0)
modparam("auth_db", "version_table", 0)
modparam("auth_db", "load_credentials", "")

# A browser's contact (xyz.invalid;transport=ws) is kept with where its REGISTER came from
# (fix_nated_register): lookup() then sends to that WebSocket connection. Both modules must
# name the same AVP, or the contact is looked up bare and is unresolvable (478).
modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "natping_interval", 0)

# The nodes: probed with OPTIONS always (mode 1); `ping_misses` lost probes and a node is out,
# one answer and it is back. A node's own answer proves it alive, even a refusal; a 408 is
# Kamailio's own (no answer), never a node's.
modparam("dispatcher", "list_file", "{config.dispatcher_file}")
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:edge@{config.sip.host}")
modparam("dispatcher", "ds_ping_interval", {config.ping_interval})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", {config.ping_misses})
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes",
         "class=2;code=401;code=403;code=404;code=405;code=407")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "xavp_dst", "_dsdst_")
modparam("dispatcher", "xavp_ctx", "_dsctx_")

modparam("websocket", "keepalive_mechanism", 1)
modparam("websocket", "keepalive_interval", 30)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check("1511", "7")) {{
        exit;
    }}
    force_rport();
    if (nat_uac_test("64")) {{
        # a browser over WebSocket: its Contact cannot be reached as written
        if (is_method("REGISTER")) {{
            fix_nated_register();
        }} else if (!add_contact_alias()) {{
            sl_send_reply("400", "Bad Contact");
            exit;
        }}
    }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "Keepalive");
        exit;
    }}
    if (has_totag()) {{
        route(WITHINDLG);
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    if (is_method("ACK")) {{
        t_check_trans();
        exit;
    }}
    t_check_trans();
    remove_hf("Route");
    if (is_method("INVITE|SUBSCRIBE|REFER")) {{
        record_route();
    }}
    if (is_method("REGISTER")) {{
        route(REGISTRAR);
        exit;
    }}
    # A node reaching an agent (or probing one): look them up; a node's outside call: the
    # carrier's.
    if (ds_is_from_list("{NODE_SET}")) {{
{_from_node(config)}
    }}
    # A carrier's call, or an agent's own (authenticated): to a node.
    if (!({_carrier_test(config.carriers)})) {{
        route(AUTH);
    }}
    route(DISPATCH);
}}

route[WITHINDLG] {{
    if (loose_route()) {{
        if (nat_uac_test("64")) {{
            add_contact_alias();
        }}
        handle_ruri_alias();
        route(RELAY);
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    sl_send_reply("404", "Not here");
}}

route[AUTH] {{
    if (!auth_check("$fd", "agents", "1")) {{
        auth_challenge("$fd", "1");
        exit;
    }}
    consume_credentials();
}}

route[REGISTRAR] {{
    if (!auth_check("$fd", "agents", "1")) {{
        auth_challenge("$fd", "0");
        exit;
    }}
    consume_credentials();
    if (nat_uac_test("64")) {{
        setbflag(6);
    }}
    # one contact per agent, the newest (0x04): a reloaded page's softphone registers with a
    # new contact and replaces its old tab's (which never unregistered)
    if (!save("location", "0x04")) {{
        sl_reply_error();
    }}
}}

route[LOCATION] {{
    if (!lookup("location")) {{
        if (is_method("OPTIONS")) {{
            # a node qualifying an agent who is not registered: no answer (it sees them
            # offline; any answer, even a 404, would make them reachable)
            exit;
        }}
        if (is_method("INVITE")) {{
            t_newtran();
            t_reply("404", "Not Registered");
        }} else {{
            sl_send_reply("404", "Not Registered");
        }}
        exit;
    }}
    handle_ruri_alias();
    if (is_method("OPTIONS")) {{
        # a node qualifying a phone: passed on statelessly, so only the phone's own answer
        # gets back. A closed tab's contact stays registered until it expires, its WebSocket
        # gone: a relay's error reply (or tm's 408) would tell the node the phone is there
        forward();
        exit;
    }}
    route(RELAY);
}}

{_carrier_route(config)}
route[DISPATCH] {{
    # round robin over the nodes that answer their probes
    if (!ds_select_dst("{NODE_SET}", "4")) {{
        # none does: every node overloaded and slow to answer is not every node dead; a call
        # tried on each in turn beats a 503 for every call
        $avp(resort) = 0;
        route(LAST_RESORT);
        exit;
    }}
    # a node has longer to answer a call's INVITE than a probe (a node loaded enough to be
    # slow is not dead: with 1 s and 2 s, bench steps at 40-80 calls/s on a busy machine lost
    # calls); a dead one is out of the set within `leave_within_s` anyway
    t_set_fr(120000, {config.invite_timeout_ms});
    t_on_failure("NEXT_NODE");
    route(RELAY);
}}

route[LAST_RESORT] {{
    switch ($avp(resort)) {{
{resort_cases}
        default:
            t_reply("503", "No Node Available");
            exit;
    }}
    $avp(resort) = $avp(resort) + 1;
    t_on_failure("LAST_RESORT_NEXT");
    route(RELAY);
}}

failure_route[LAST_RESORT_NEXT] {{
    if (t_is_canceled()) {{
        exit;
    }}
    if (t_check_status("408|500|503") || t_branch_timeout()) {{
        route(LAST_RESORT);
    }}
}}

route[RELAY] {{
    # (rr's double Record-Route covers calls that change transport: WebSocket <-> UDP)
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

failure_route[NEXT_NODE] {{
    if (t_is_canceled()) {{
        exit;
    }}
    # no answer at all within the timer: the node is out of the set (until a probe is
    # answered); a node that answers "busy" (500, 503) stays in. Either way, the next node.
    if (t_branch_timeout() && !t_branch_replied()) {{
        ds_mark_dst("ip");
    }}
    if (t_check_status("408|500|503") || t_branch_timeout()) {{
        if (ds_next_dst()) {{
            t_on_failure("NEXT_NODE");
            route(RELAY);
            exit;
        }}
    }}
}}

onreply_route {{
    # a browser's answer over WebSocket: its Contact cannot be reached as written either (the
    # node's ACK and BYE come back through here to the browser's connection)
    if (nat_uac_test("64")) {{
        add_contact_alias();
    }}
}}

event_route[xhttp:request] {{
    set_reply_close();
    set_reply_no_connect();
    if ($Rp != {config.websocket.port}) {{
        xhttp_reply("403", "Forbidden", "", "");
        exit;
    }}
    if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {{
        if (ws_handle_handshake()) {{
            exit;
        }}
    }}
    xhttp_reply("404", "Not Found", "", "");
}}

event_route[websocket:closed] {{
    xlog("L_INFO", "WebSocket connection from $si:$sp closed\\n");
}}
"""
