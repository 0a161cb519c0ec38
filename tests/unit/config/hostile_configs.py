"""A corpus of hostile settings: what an attacker, a careless script or a broken disk can put in
pbx.toml or the PBX_* environment. Each must give one-line errors naming the setting, quickly,
without a traceback and without echoing a secret.

A case is a pbx.toml's bytes (or none) plus environment values as bytes (they may not be UTF-8),
and a piece of text the error must contain. Big or deep files are generated, not stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SECRET = "hunter2"  # a password that must never appear in any output


@dataclass(frozen=True)
class Hostile:
    name: str
    says: str
    toml: bytes | None = None
    env: dict[str, bytes] = field(default_factory=dict)


def _toml(name: str, says: str, text: str) -> Hostile:
    return Hostile(name, says, toml=text.encode())


def _env(name: str, says: str, **env: bytes) -> Hostile:
    return Hostile(name, says, env=env)


_BINARY = random.Random(11).randbytes(4096)

CASES: list[Hostile] = [
    # -- the file itself
    Hostile("binary", "not UTF-8 text", toml=_BINARY),
    Hostile("utf16", "not UTF-8 text", toml="[ari]\nuser = 'pbx'\n".encode("utf-16")),
    Hostile("nul-byte", "not valid TOML", toml=b'[ari]\nuser = "pb\x00x"\n'),
    Hostile("huge-file", "larger than 1 MiB", toml=b"# padding\n" * 120_000),
    _toml("deep-arrays", "nested too deeply", "[ari]\nuser = " + "[" * 100_000 + "]" * 100_000),
    _toml("deep-inline-tables", "nested too deeply",
          "x = " + "{a = " * 20_000 + "1" + "}" * 20_000),
    _toml("deep-dotted-section", "unknown section [a]", "[" + ".".join(["a"] * 5000) + "]\n"),
    _toml("huge-integer-digits", "a number with too many digits", "[web]\nport = 1" + "0" * 5000),
    _toml("unclosed-section", "not valid TOML", "[ari\nurl = 1\n"),
    # -- numbers and ports
    _toml("port-too-big", "web.port: expected a TCP port 1-65535",
          "[web]\nport = 99999999999999999999999999999\n"),
    _toml("port-negative", "web.port: expected a TCP port", "[web]\nport = -1\n"),
    _toml("port-zero", "web.port: expected a TCP port", "[web]\nport = 0\n"),
    _toml("port-infinite", "web.port: expected a TCP port", "[web]\nport = inf\n"),
    _toml("port-float", "web.port: expected a TCP port", "[web]\nport = 8080.5\n"),
    _toml("port-shell", "web.port: expected a TCP port", '[web]\nport = "80; rm -rf /"\n'),
    _toml("port-date", "web.port: expected a TCP port", "[web]\nport = 1979-05-27T07:32:00Z\n"),
    _toml("request-sockets-huge", "ari.request_sockets: expected a number of request-only",
          "[ari]\nrequest_sockets = 1000000\n"),
    # -- URLs
    _toml("ari-url-port-99999", "ari.url: the port must be a number 1-65535",
          '[ari]\nurl = "http://127.0.0.1:99999"\n'),
    _toml("ari-url-port-letters", "ari.url: the port must be a number 1-65535",
          '[ari]\nurl = "http://127.0.0.1:80ab"\n'),
    _toml("ari-url-credentials", "ari.url: must not contain a user name or password: set "
          "ari.user", f'[ari]\nurl = "http://pbx:{SECRET}@127.0.0.1:8088"\n'),
    _toml("ari-url-no-host", "ari.url: expected http(s)://host:port",
          '[ari]\nurl = "http://:8088"\n'),
    _toml("ari-url-file", "ari.url: expected http(s)://host:port",
          '[ari]\nurl = "file:///etc/passwd"\n'),
    _toml("ari-url-crlf", "ari.url: expected http(s)://host:port",
          '[ari]\nurl = "http://127.0.0.1:8088/\\r\\nX-Injected: 1"\n'),
    _toml("ari-url-query", "ari.url: expected http(s)://host:port",
          '[ari]\nurl = "http://127.0.0.1:8088/?api_key=x#y"\n'),
    _toml("rpc-url-credentials", "web.rpc_url: must not contain a user name or password",
          f'[web]\nrpc_url = "http://u:{SECRET}@127.0.0.1:8099"\n'),
    _toml("database-url-mysql", "database.url: unsupported database 'mysql'",
          f'[database]\nurl = "mysql://bob:{SECRET}@db/pbx"\n'),
    _toml("database-url-port-letters", "database.url: the port must be a number",
          f'[database]\nurl = "postgresql://bob:{SECRET}@db:5432x/pbx"\n'),
    _toml("database-url-at-in-password", "write an '@' of the password as %40",
          f'[database]\nurl = "postgresql://bob:{SECRET}@{SECRET}@db/pbx"\n'),
    _toml("database-url-memory", "in-memory databases are not supported",
          '[database]\nurl = "sqlite:///:memory:"\n'),
    # -- wrong types and names
    _toml("url-is-a-table", "ari.url: expected http(s)://host:port, got a table",
          "[ari]\nurl = {a = 1}\n"),
    _toml("url-is-true", "ari.url: expected http(s)://host:port", "[ari]\nurl = true\n"),
    _toml("pause-reasons-tables", "agents.pause_reasons: expected a list of pause reasons",
          '[[agents.pause_reasons]]\nname = "lunch"\n'),
    _toml("section-is-a-number", "[ari] must be a table", "ari = 5\n"),
    _toml("unknown-section-bidi", "unknown section ['\\u202eevil']", '["\u202eevil"]\na = 1\n'),
    _toml("unknown-key-huge", "unknown setting ari.'xxxxxxxx", f'[ari]\n"{"x" * 10_000}" = 1\n'),
    _toml("ari-user-empty", "ari.user: expected a non-empty ARI user name", '[ari]\nuser = ""\n'),
    _toml("ari-user-colon", "ari.user: must not contain ':'", '[ari]\nuser = "pbx:admin"\n'),
    _toml("ari-user-crlf", "ari.user: expected a non-empty ARI user name",
          '[ari]\nuser = "pbx\\r\\nX-Injected: 1"\n'),
    _toml("region-unknown", "crm.region: unknown numbering region 'XX'", '[crm]\nregion = "XX"\n'),
    _toml("region-huge", "crm.region: expected a two-letter country code",
          f'[crm]\nregion = "{"A" * 100_000}"\n'),
    _toml("tenant-not-a-slug", "calls.tenant: must be 1-64 letters", '[calls]\ntenant = "ac me"\n'),
    _toml("trusted-proxy-junk", "web.trusted_proxies: expected addresses or networks",
          '[web]\ntrusted_proxies = ["999.1.1.1"]\n'),
    # -- the environment
    _env("env-ari-user-not-utf8", "PBX_ARI_USER (environment): not valid UTF-8",
         PBX_ARI_USER=b"\xff\xfepbx"),
    _env("env-ari-password-not-utf8", "PBX_ARI_PASSWORD (environment): not valid UTF-8",
         PBX_ARI_PASSWORD=b"\xc3\x28" + SECRET.encode()),
    _env("env-database-url-not-utf8", "PBX_DATABASE_URL (environment): not valid UTF-8",
         PBX_DATABASE_URL=b"postgresql://bob:\xff@db/pbx"),
    _env("env-ari-url-credentials", "PBX_ARI_URL (environment): must not contain a user name",
         PBX_ARI_URL=f"http://pbx:{SECRET}@127.0.0.1:8088".encode()),
    _env("env-ari-url-port", "PBX_ARI_URL (environment): the port must be a number 1-65535",
         PBX_ARI_URL=b"http://127.0.0.1:99999"),
    _env("env-database-url-mysql", "PBX_DATABASE_URL (environment): unsupported database",
         PBX_DATABASE_URL=f"mysql://bob:{SECRET}@db/pbx".encode()),
    _env("env-region", "PBX_REGION (environment): unknown numbering region 'XX'",
         PBX_REGION=b"XX"),
    _env("env-web-port", "PBX_WEB_PORT (environment): expected a TCP port", PBX_WEB_PORT=b"99999"),
    _env("env-tenant-empty", "PBX_TENANT (environment): must not be empty", PBX_TENANT=b""),
    _env("env-config-directory", "cannot read", PBX_CONFIG=b"/"),
    _env("env-config-missing", "config file not found", PBX_CONFIG=b"/nonexistent/pbx.toml"),
]
