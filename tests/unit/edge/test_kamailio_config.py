"""The SIP edge's kamailio.cfg, rendered from the cluster's addresses (pure)."""

from __future__ import annotations

import pytest

from pbx_stasis.edge.kamailio import (
    EdgeConfig,
    EdgeConfigError,
    SipAddress,
    kamailio_database_url,
    render,
    render_dispatcher_list,
)


def config(**changes: object) -> EdgeConfig:
    values: dict[str, object] = {
        "sip": SipAddress("10.0.0.5", 5060),
        "websocket": SipAddress("10.0.0.5", 8443),
        "nodes": [SipAddress("10.0.1.1", 5060), SipAddress("10.0.1.2", 5060)],
        "carriers": ["192.0.2.10", "192.0.2.11"],
        "database_url": "postgres://kam:pw@10.0.2.1:5432/pbx",
        "ctl_socket": "unix:/run/kamailio/ctl",
        "dispatcher_file": "/etc/kamailio/dispatcher.list",
    }
    values.update(changes)
    return EdgeConfig(**values)  # type: ignore[arg-type]


def test_listens_probes_and_authenticates_as_configured() -> None:
    text = render(config())
    assert "listen=udp:10.0.0.5:5060" in text and "listen=tcp:10.0.0.5:8443" in text
    assert 'loadmodule "db_postgres.so"' in text
    assert 'modparam("auth_db", "db_url", "postgres://kam:pw@10.0.2.1:5432/pbx")' in text
    # the app's own table: agents' endpoint and SIP password
    assert 'modparam("auth_db", "user_column", "endpoint")' in text
    assert 'auth_check("$fd", "agents", "1")' in text
    # a node that stops answering its probes leaves the set; a 408 (no answer) is no answer
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in text
    assert 'modparam("dispatcher", "ds_probing_threshold", 2)' in text
    assert "class=4" not in text
    # carriers by source address; anyone else authenticates
    assert '$si == "192.0.2.10" || $si == "192.0.2.11"' in text
    assert "if ($Rp != 8443)" in text  # WebSocket upgrades only on the WebSocket port


def test_every_node_in_the_dispatcher_list_and_as_the_last_resort() -> None:
    lines = render_dispatcher_list(config()).splitlines()[1:]
    assert lines == ["1 sip:10.0.1.1:5060 0 1 node=1", "1 sip:10.0.1.2:5060 0 0 node=2"]
    text = render(config())
    # every node out of the set (all slow under load): each is tried in turn all the same
    assert 'case 0:\n            $du = "sip:10.0.1.1:5060";' in text
    assert 'case 1:\n            $du = "sip:10.0.1.2:5060";' in text
    assert "t_set_fr(120000, 5000);" in text  # a slow node is not a dead one
    # only a node that gave no answer at all is taken out by a call
    assert "if (t_branch_timeout() && !t_branch_replied())" in text


def test_sqlite_database_for_one_machine() -> None:
    text = render(config(database_url="sqlite:///srv/pbx/pbx.db"))
    assert 'loadmodule "db_sqlite.so"' in text and "db_postgres" not in text


def test_a_dead_node_leaves_within_seconds() -> None:
    assert config().leave_within_s == 4.0  # 2 misses of (1 s apart + 1 s timeout)
    assert config(ping_misses=1, probe_timeout_ms=500).leave_within_s == 1.5


@pytest.mark.parametrize(("changes", "problem"), [
    ({"nodes": []}, "at least one"),
    ({"nodes": [SipAddress("10.0.1.1", 5060)] * 2}, "twice"),
    ({"nodes": [SipAddress("10.0.0.5", 5060)]}, "edge's own address"),
    ({"websocket": SipAddress("10.0.0.5", 5060)}, "same address"),
    ({"carriers": ["carrier.example"]}, "IP addresses"),
    ({"ping_interval": 0}, "ping_interval"),
    ({"ping_misses": 11}, "ping_misses"),
    ({"probe_timeout_ms": 50}, "probe_timeout_ms"),
    ({"invite_timeout_ms": 100}, "invite_timeout_ms"),
])
def test_refuses_what_cannot_work(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(EdgeConfigError, match=problem):
        config(**changes)


@pytest.mark.parametrize(("text", "problem"), [
    ("10.0.0.5", "host:port"), ("10.0.0.5:0", "host:port"), ("edge:5060", "IP address"),
])
def test_sip_addresses(text: str, problem: str) -> None:
    assert str(SipAddress.parse("10.0.0.5:5060", what="sip")) == "10.0.0.5:5060"
    with pytest.raises(EdgeConfigError, match=problem):
        SipAddress.parse(text, what="sip")


@pytest.mark.parametrize(("app_url", "kamailio_url"), [
    ("sqlite+aiosqlite:////srv/pbx/pbx.db", "sqlite:///srv/pbx/pbx.db"),
    ("sqlite:////srv/pbx/pbx.db?timeout=5", "sqlite:///srv/pbx/pbx.db"),
    ("postgresql+asyncpg://pbx:s3cret@db:5433/pbx", "postgres://pbx:s3cret@db:5433/pbx"),
    ("postgresql://db/pbx", "postgres://db/pbx"),
])
def test_the_apps_database_as_kamailio_names_it(app_url: str, kamailio_url: str) -> None:
    assert kamailio_database_url(app_url) == kamailio_url


@pytest.mark.parametrize(("app_url", "problem"), [
    ("sqlite+aiosqlite:///var/pbx.db", "absolute path"),
    ("sqlite+aiosqlite:///:memory:", "memory"),
    ("mysql://db/pbx", "SQLite or PostgreSQL"),
    ("postgresql://db/", "no database"),
    ("pbx.db", "not a URL"),
])
def test_databases_the_edge_cannot_read(app_url: str, problem: str) -> None:
    with pytest.raises(EdgeConfigError, match=problem):
        kamailio_database_url(app_url)


def test_a_nodes_call_to_a_number_goes_to_the_carrier_gateway() -> None:
    assert "route[CARRIER]" not in render(config())  # no gateway: nodes reach only agents
    text = render(config(carrier_gateway=SipAddress("192.0.2.10", 5060)))
    # a number (digits, a leading +) from a node: the carrier's; anything else: an agent's
    assert 'if (is_method("INVITE") && $rU =~ "^[+]?[0-9]+$") {\n            route(CARRIER);' \
        in text
    assert '$ru = "sip:" + $rU + "@192.0.2.10:5060";' in text
    with pytest.raises(EdgeConfigError, match="carrier_gateway"):
        config(carrier_gateway=SipAddress("10.0.1.2", 5060))  # a node's own address


def test_a_reloaded_softphone_replaces_its_old_registration() -> None:
    # the newest contact only (the old tab never unregistered): not refused as one too many
    text = render(config())
    assert 'save("location", "0x04")' in text and '"max_contacts"' not in text


def test_a_browser_is_looked_up_at_its_websocket_connection() -> None:
    # the registrar keeps where the REGISTER came from, under the AVP nathelper fills
    assert 'modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")' in render(config())


def test_a_nodes_qualify_of_a_phone_gets_only_the_phones_own_answer() -> None:
    # stateless: a closed tab's connection (still registered) gives the node no answer at all
    location = render(config()).split("route[LOCATION]", 1)[1].split("\n}\n", 1)[0]
    assert 'if (is_method("OPTIONS")) {\n        # a node qualifying a phone' in location
    assert "forward();\n        exit;" in location
