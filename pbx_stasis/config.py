"""Settings: one pbx.toml plus PBX_* environment overrides, validated in one place.

Whatever the file or the environment holds (binary, deep nesting, huge numbers, credentials in
URLs, bytes that are not UTF-8), the answer is one line per problem naming the setting, never a
traceback, and a secret is never echoed back.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from pbx_stasis.store import accounts
from pbx_stasis.store.errors import SETTING as DATABASE_SETTING
from pbx_stasis.store.errors import StoreError, mask_password

DEFAULT_CONFIG_PATH = Path("pbx.toml")
# A settings file is a few hundred bytes; anything near this is not one.
MAX_CONFIG_BYTES = 1 << 20
# How much of a refused value an error message shows.
_SHOWN_CHARS = 80


class ConfigError(Exception):
    """Every problem found in the settings, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AriSettings:
    url: str = "http://127.0.0.1:8088"
    user: str = "pbx"
    password: str = ""
    app: str = "pbx"
    # WebSockets that carry only requests, beside the events one (ari/request_sockets.py).
    request_sockets: int = 3
    # Several Asterisk nodes (a cluster behind the SIP edge): (name, ARI URL) each, the name
    # being the node's `systemname` (ari/nodes.py); empty: the one Asterisk at `url`.
    nodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EdgeSettings:
    # The SIP edge (Kamailio, pbx_stasis/edge) agents' phones register with: host:port of its
    # SIP, where the nodes reach registered agents; empty: agents register with Asterisk.
    sip: str = ""
    # Its SIP over WebSocket for browsers (ws[s]://host:port/).
    websocket: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/pbx.db"


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    enabled: bool = True
    # Split deployment (pbx run --part stasis / --part web): where the telephony process
    # listens for the web process, and the secret both share.
    rpc_url: str = "http://127.0.0.1:8099"
    rpc_secret: str = ""
    # Reverse proxies whose X-Forwarded-For / -Proto are believed (web/forwarded.py).
    trusted_proxies: tuple[str, ...] = ()
    # Who may read /metrics (web/health.py): a bearer token; empty, local clients only.
    metrics_token: str = ""


@dataclass(frozen=True)
class CallSettings:
    tenant: str = "default"
    greeting: str = "hello-world"


@dataclass(frozen=True)
class AgentSettings:
    # What an agent picks from when pausing; "no answer" (autopause) is added by the ACD.
    pause_reasons: tuple[str, ...] = ("break", "lunch", "training", "meeting", "after-call work")


@dataclass(frozen=True)
class RecordingSettings:
    dir: str = "var/recordings"


@dataclass(frozen=True)
class AnalyticsSettings:
    # Transcribe recordings and voicemails (pbx_stasis/analytics) in a worker process.
    transcribe: bool = True
    # Speech engines by language: "en=pocketsphinx,fr=vosk:/models/vosk-fr,ar=faster-whisper:
    # /models/whisper-small" (a model directory on disk; nothing is downloaded). English falls
    # back to the built-in pocketsphinx; other languages need one here.
    engines: str = ""


@dataclass(frozen=True)
class CrmSettings:
    region: str = "US"  # how national numbers are read (ISO 3166 country code)


@dataclass(frozen=True)
class IvrSettings:
    # Tenants (slugs) whose flows may look up internal addresses (loopback, private ranges,
    # link-local...: ivr/addresses.py); other tenants' lookups reach only public ones.
    internal_lookups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrunkSettings:
    # The number outside calls present when the tenant has no outbound number of its own
    # (docs/dialing.md); None: none, the carrier decides.
    caller_id: str | None = None


@dataclass(frozen=True)
class WebhookSettings:
    # Whether subscriptions may point at internal addresses (loopback, private ranges,
    # link-local: the rule of ivr/addresses.py); off, a url cannot reach the operator's network.
    internal_urls: bool = False
    # The first retry after a failed delivery (seconds), doubled each time up to an hour;
    # deliveries are retried, and a subscription failing that long is paused, for `retry_for`.
    first_retry: float = 30.0
    retry_for: float = 86400.0


@dataclass(frozen=True)
class Settings:
    ari: AriSettings = field(default_factory=AriSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    web: WebSettings = field(default_factory=WebSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    agents: AgentSettings = field(default_factory=AgentSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    crm: CrmSettings = field(default_factory=CrmSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    trunk: TrunkSettings = field(default_factory=TrunkSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    source: str = "defaults"


class Refused(ValueError):
    """A parser's own one-line reason, shown instead of the generic "expected ..."."""


# setting name -> (environment variable, parser, expected form)
def _url(schemes: tuple[str, ...], credentials: str) -> Callable[[str], str]:
    """A URL with a host and a valid port; `credentials` names where the user and password
    go instead of the URL (they would be logged and shown with it)."""

    def parse(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError
        if parts.username is not None or parts.password is not None:
            raise Refused(f"must not contain a user name or password: set {credentials}")
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when asked)
        except ValueError:
            raise Refused("the port must be a number 1-65535") from None
        if parts.port == 0 or parts.query or parts.fragment or _has_control(value):
            raise ValueError  # paths are appended to it: "?x" or "#x" would swallow them
        return value.rstrip("/")

    return parse


def _database_url(value: str) -> str:
    # Here, not at the top: it loads SQLAlchemy's URL parser, which `pbx --help` does without.
    from pbx_stasis.store.urls import normalize_url

    try:
        normalize_url(value)  # the check Database.connect makes, so both say the same
    except StoreError as exc:
        raise Refused(str(exc).removeprefix(f"{DATABASE_SETTING}: ")) from None
    return value


def _has_control(value: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in value)


def _text(value: str) -> str:
    if not value.strip() or _has_control(value):
        raise ValueError
    return value


_NODE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,30}$")


def _nodes(value: str) -> tuple[tuple[str, str], ...]:
    """name=http://host:port,name=http://host:port: the Asterisk nodes of a cluster."""
    nodes: list[tuple[str, str]] = []
    url = _url(("http", "https"), "ari.user and ari.password (PBX_ARI_USER, PBX_ARI_PASSWORD)")
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, address = item.strip().partition("=")
        if not sep or not _NODE_NAME.match(name):
            raise Refused(f"{item.strip()!r}: expected name=http://host:port, the name 1-31 of "
                          "a-z, 0-9 and '_' (the node's systemname)")
        nodes.append((name, url(address.strip())))
    names = [name for name, _ in nodes]
    if len(set(names)) != len(names):
        raise Refused("a node name is given twice")
    if len({address for _, address in nodes}) != len(nodes):
        raise Refused("an ARI URL is given twice")
    return tuple(nodes)


def _sip_address(value: str) -> str:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError
    ipaddress.ip_address(host.strip("[]"))
    return value.strip()


def _ari_user(value: str) -> str:
    if ":" in _text(value):  # HTTP basic auth ends the user name at the first colon
        raise Refused("must not contain ':'")
    return value


def _tenant(value: str) -> str:
    try:
        return accounts.tenant_slug(value)
    except accounts.AccountInvalid as exc:
        raise Refused(exc.problem) from None


def _any_text(value: str) -> str:
    return value


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError
    return port


def _socket_count(value: str) -> int:
    count = int(value)
    if not 0 <= count <= 16:
        raise ValueError
    return count


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError


def _seconds(value: str) -> float:
    seconds = float(value)
    if not 0.01 <= seconds <= 86400:  # also refuses nan and inf
        raise ValueError
    return seconds


def _names(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise ValueError
    return names


def _proxies(value: str) -> tuple[str, ...]:
    names = _names(value)
    for name in names:  # ValueError on anything that is not an address or a network
        ipaddress.ip_network(name, strict=False)  # as web/forwarded.py reads them
    return names


def _slugs(value: str) -> tuple[str, ...]:
    # Empty is allowed: no tenant opted in (PBX_IVR_INTERNAL_LOOKUPS= undoes pbx.toml).
    # Stored slugs are lower case (store/accounts.py): "Acme" opts in the tenant acme.
    return tuple(_tenant(part.strip()) for part in value.split(",") if part.strip())


def _region(value: str) -> str:
    # Exactly the regions whose national numbers the app can read: crm/phones.py's plans are
    # phonenumbers' regions, so a region it cannot read does not pass as ok (config imports no
    # feature, hence the library's list rather than the plans).
    if len(value) > 8:
        raise ValueError
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise Refused(f"unknown numbering region {value!r}")
    return value.upper()


def _caller_id(value: str) -> str | None:
    # Empty: none (PBX_TRUNK_CALLER_ID= undoes pbx.toml). Read as dialing/caller_ids.py reads a
    # tenant's numbers (config imports no feature, hence phonenumbers itself).
    if not value.strip():
        return None
    if len(value) > 32 or not value.strip().startswith("+"):
        raise ValueError
    try:
        parsed = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValueError from None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed):
        raise Refused(f"{formatted} is not a valid phone number")
    return formatted


_SECRETS = frozenset({("ari", "password"), ("web", "rpc_secret"), ("web", "metrics_token")})

_FIELDS: dict[tuple[str, str], tuple[str, Callable[[str], Any], str]] = {
    ("ari", "url"): (
        "PBX_ARI_URL",
        _url(("http", "https"), "ari.user and ari.password (PBX_ARI_USER, PBX_ARI_PASSWORD)"),
        "http(s)://host:port",
    ),
    ("ari", "user"): ("PBX_ARI_USER", _ari_user, "a non-empty ARI user name"),
    ("ari", "password"): ("PBX_ARI_PASSWORD", _any_text, "the ARI user's password"),
    ("ari", "app"): ("PBX_ARI_APP", _text, "a Stasis application name"),
    ("ari", "request_sockets"): (
        "PBX_ARI_REQUEST_SOCKETS", _socket_count, "a number of request-only sockets, 0-16"
    ),
    ("ari", "nodes"): (
        "PBX_ARI_NODES", _nodes, "name=http://host:port,... (the Asterisk nodes)"
    ),
    ("edge", "sip"): ("PBX_EDGE_SIP", _sip_address, "the SIP edge's IP:port, e.g. 10.0.0.5:5060"),
    ("edge", "websocket"): (
        "PBX_EDGE_WEBSOCKET", _url(("ws", "wss"), "nothing"), "ws(s)://host:port"
    ),
    ("database", "url"): (
        "PBX_DATABASE_URL",
        _database_url,
        "sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user:pass@host/db",
    ),
    ("web", "host"): ("PBX_WEB_HOST", _text, "an address to listen on, e.g. 127.0.0.1"),
    ("web", "port"): ("PBX_WEB_PORT", _port, "a TCP port 1-65535"),
    ("web", "enabled"): ("PBX_WEB_ENABLED", _bool, "true or false"),
    ("web", "rpc_url"): (
        "PBX_RPC_URL",
        _url(("http",), "web.rpc_secret (PBX_RPC_SECRET)"),
        "http://127.0.0.1:PORT (loopback)",
    ),
    ("web", "rpc_secret"): ("PBX_RPC_SECRET", _any_text, "a long random string"),
    ("web", "metrics_token"): ("PBX_METRICS_TOKEN", _any_text, "a long random string"),
    ("web", "trusted_proxies"): (
        "PBX_TRUSTED_PROXIES", _proxies, "addresses or networks, e.g. 127.0.0.1,10.0.0.0/8"
    ),
    ("calls", "tenant"): ("PBX_TENANT", _tenant, "a tenant slug"),
    ("calls", "greeting"): ("PBX_GREETING", _text, "a sound name, e.g. hello-world"),
    ("agents", "pause_reasons"): (
        "PBX_PAUSE_REASONS", _names, "a list of pause reasons, e.g. break,lunch,training"
    ),
    ("recordings", "dir"): ("PBX_RECORDINGS_DIR", _text, "a folder for recordings"),
    ("analytics", "transcribe"): ("PBX_TRANSCRIBE", _bool, "true or false"),
    ("analytics", "engines"): (
        "PBX_ASR_ENGINES", _text, "language=engine[:model dir], e.g. fr=vosk:/models/vosk-fr"
    ),
    ("crm", "region"): ("PBX_REGION", _region, "a two-letter country code, e.g. US or FR"),
    ("ivr", "internal_lookups"): (
        "PBX_IVR_INTERNAL_LOOKUPS", _slugs, "a list of tenant slugs, e.g. default,acme"
    ),
    ("trunk", "caller_id"): (
        "PBX_TRUNK_CALLER_ID", _caller_id, "a phone number in international form, e.g. "
        "+14155550100"
    ),
    ("webhooks", "internal_urls"): ("PBX_WEBHOOKS_INTERNAL_URLS", _bool, "true or false"),
    ("webhooks", "first_retry"): (
        "PBX_WEBHOOKS_FIRST_RETRY", _seconds, "a number of seconds, 0.01-86400"
    ),
    ("webhooks", "retry_for"): (
        "PBX_WEBHOOKS_RETRY_FOR", _seconds, "a number of seconds, 0.01-86400 (default a day)"
    ),
}

_SECTIONS: dict[str, type[Any]] = {
    "ari": AriSettings,
    "edge": EdgeSettings,
    "database": DatabaseSettings,
    "web": WebSettings,
    "calls": CallSettings,
    "agents": AgentSettings,
    "recordings": RecordingSettings,
    "analytics": AnalyticsSettings,
    "crm": CrmSettings,
    "ivr": IvrSettings,
    "trunk": TrunkSettings,
    "webhooks": WebhookSettings,
}


def load_settings(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read pbx.toml (if present), apply PBX_* overrides, and report every problem at once."""
    env = os.environ if environ is None else environ
    explicit = path is not None or "PBX_CONFIG" in env
    config_path = path or Path(env.get("PBX_CONFIG", str(DEFAULT_CONFIG_PATH)))
    problems: list[str] = []
    raw: dict[str, Any] = {}
    source = "defaults"
    if config_path.exists():
        source = str(config_path)
        raw = _read_toml(config_path)
    elif explicit:
        raise ConfigError([f"{config_path}: config file not found (PBX_CONFIG)"])

    for section in raw:
        if section not in _SECTIONS:
            known = ", ".join(sorted(_SECTIONS))
            problems.append(f"{source}: unknown section [{_key(section)}] (known: {known})")
        elif not isinstance(raw[section], dict):
            problems.append(f"{source}: [{section}] must be a table")

    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for (section, key), (env_name, parse, expected) in _FIELDS.items():
        table = raw.get(section) if isinstance(raw.get(section), dict) else {}
        assert isinstance(table, dict)
        origin: str | None = None
        value: Any = None
        if env_name in env:
            origin, value = f"{env_name} (environment)", env[env_name]
        elif key in table:
            origin, value = f"{source}: {section}.{key}", table[key]
        if origin is None:
            continue
        secret = (section, key) in _SECRETS
        try:
            text = _as_text(value)
        except (ValueError, TypeError):
            problems.append(f"{origin}: expected {expected}, got {_shown(value, secret)}")
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # bytes the locale could not decode (os.environ keeps them)
            problems.append(f"{origin}: not valid UTF-8; expected {expected}")
            continue
        try:
            values[section][key] = parse(text)
        except Refused as exc:
            problems.append(f"{origin}: {exc}")
        except (ValueError, TypeError, OverflowError):
            problems.append(f"{origin}: expected {expected}, got {_shown(value, secret)}")

    for section, table in raw.items():
        if isinstance(table, dict):
            for key in table:
                if (section, key) not in _FIELDS and section in _SECTIONS:
                    problems.append(f"{source}: unknown setting {section}.{_key(key)}")

    if problems:
        raise ConfigError(problems)
    built = {name: cls(**values[name]) for name, cls in _SECTIONS.items()}
    return Settings(source=source, **built)


def _read_toml(config_path: Path) -> dict[str, Any]:
    try:
        with config_path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{config_path}: cannot read: {exc.strerror}"]) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{config_path}: larger than {MAX_CONFIG_BYTES >> 20} MiB: "
                           "not a settings file"])
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{config_path}: not UTF-8 text (byte {exc.start}): a binary file? "
                           "expected TOML"]) from None
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{config_path}: not valid TOML: {exc}"]) from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError([f"{config_path}: not valid TOML: arrays or tables nested too "
                           "deeply"]) from None
    except ValueError:  # int() of a number with thousands of digits
        raise ConfigError([f"{config_path}: not valid TOML: a number with too many "
                           "digits"]) from None


def _as_text(value: Any) -> str:
    """A setting's value as the text its parser reads (the environment only has text)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):  # TOML arrays of names
        if not all(isinstance(item, str | int | float) for item in value):
            raise ValueError
        return ",".join(str(item) for item in value)
    if isinstance(value, str | int | float):
        return str(value)  # ValueError for ints of more than 4300 digits
    raise TypeError  # tables, dates and times


def _key(name: str) -> str:
    """A TOML key as a message shows it: as written when it is a plain word."""
    return name if re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", name) else _shown(name)


def _shown(value: Any, secret: bool = False) -> str:
    """A refused value as an error message may show it: short, one line, never a password."""
    if secret:
        return "(hidden)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**_SHOWN_CHARS:
        return "a number far too large"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    text = repr(mask_password(value) if isinstance(value, str) else value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
