"""The rules for accounts, one copy for `pbx user add` / `pbx agent set` and the admin pages:
usernames, tenant slugs, passwords, display names, an agent's queues, a desk phone's contact.

Usernames and tenant slugs are compared case-insensitively: they are stored in lower case (the
database refuses anything else, migration 0007), so `THROW2` is the same account as `throw2`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable

from pbx_stasis.store.errors import StoreError

# Accepted in either case on input (web form, command line), stored in lower case.
USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
USERNAME_HINT = "must be 1-64 letters, digits, . _ or -, starting with a letter or digit"
TENANT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}"
TENANT_HINT = "must be 1-64 letters, digits, _ or -, starting with a letter or digit"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
MAX_DISPLAY_NAME_LENGTH = 200
# A desk phone's address as Asterisk's aor `contact` takes it: one sip: URI with host and port.
# No commas (the aor would get several contacts), blanks or other URI parameters than these.
CONTACT_HINT = "must be a SIP URI with a host and a port, e.g. sip:1001@192.0.2.10:5060"
MAX_CONTACT_LENGTH = 255
_CONTACT = re.compile(
    r"sips?:(?:(?P<user>[A-Za-z0-9._~+*%\-]{1,64})@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?P<port>[0-9]{1,5})"
    r"(?P<params>(?:;[A-Za-z0-9_\-]{1,32}(?:=[A-Za-z0-9_.\-]{1,64})?){0,8})"
)
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")


class AccountInvalid(StoreError):
    """An account field breaks its rule; `field` names it, `problem` says how (one line)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def username(text: str) -> str:
    """`text` as stored (lower case); AccountInvalid("username") if it breaks the rule."""
    return _name("username", text, USERNAME_PATTERN, USERNAME_HINT)


def tenant_slug(text: str) -> str:
    """`text` as stored (lower case); AccountInvalid("tenant") if it breaks the rule."""
    return _name("tenant", text, TENANT_PATTERN, TENANT_HINT)


def _name(field: str, text: str, pattern: str, hint: str) -> str:
    if not text:
        raise AccountInvalid(field, "must not be empty")
    if not re.fullmatch(pattern, text):
        raise AccountInvalid(field, hint)
    return text.lower()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "must not start or end with a space"
    if _has_control(password):
        return "must not contain control characters"
    return None


def display_name(text: str) -> str:
    """A display name as stored (surrounding blanks dropped); AccountInvalid("name") if empty,
    too long or with control characters (it is shown on wallboards and in CSV reports)."""
    clean = text.strip()
    if not clean:
        raise AccountInvalid("name", "must not be empty")
    if len(clean) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountInvalid("name", f"must be at most {MAX_DISPLAY_NAME_LENGTH} characters")
    if _has_control(clean):
        raise AccountInvalid("name", "must not contain control characters")
    return clean


def contact(text: str) -> str:
    """A desk phone's SIP contact as given; AccountInvalid("contact") unless it is one sip: or
    sips: URI with a valid host (name or IP address) and a port 1-65535."""
    if len(text) > MAX_CONTACT_LENGTH:
        raise AccountInvalid("contact", f"must be at most {MAX_CONTACT_LENGTH} characters")
    match = _CONTACT.fullmatch(text)
    if match is None or not _valid_host(match["host"]) or not 1 <= int(match["port"]) <= 65535:
        raise AccountInvalid("contact", CONTACT_HINT)
    return text


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def queues(wanted: Iterable[str], known: Iterable[str]) -> list[str]:
    """The queues `wanted`, in order; AccountInvalid("queues") naming those that do not exist
    in the tenant (`known`)."""
    names = list(wanted)
    existing = set(known)
    unknown = sorted({name for name in names if name not in existing})
    if unknown:
        raise AccountInvalid("queues", f"unknown queue(s): {', '.join(unknown)}")
    return names


# Bidirectional overrides reorder what a supervisor reads (U+202E turns "gpj.exe" around);
# other format characters (ZWNJ...) belong to some scripts' spelling and stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in text)
