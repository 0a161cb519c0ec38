"""Which hosts are internal: addresses that are not globally routable and the names that always
mean the local machine or network (addresses.py: why, and the resolver applying it at request
time). Plain Python, so the flows' loader checks urls without loading aiohttp."""

from __future__ import annotations

import ipaddress
import re
import socket

# Names that resolve inside the machine or the site whatever DNS says (RFC 6761 `localhost`,
# mDNS `.local`, RFC 8375 `.home.arpa`, the cloud metadata names).
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata"}
)
_INTERNAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")
# What getaddrinfo reads as an IPv4 address besides dotted quads: 127.1, 2130706433, 0x7f.1...
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+\Z")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def internal_address(address: str) -> bool:
    """True when `address` (an IP address as text) is not globally routable."""
    found = _address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local
    if found is None:
        return False
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    return not found.is_global or found.is_multicast


def internal_host(host: str) -> str | None:
    """Why the host of a url (as written) is internal, or None when it may be public."""
    name = host.strip("[]").rstrip(".").lower()
    found = _address(name.split("%", 1)[0])
    if found is not None:
        return f"{host} is an internal address" if internal_address(name) else None
    if name in _INTERNAL_NAMES or name.endswith(_INTERNAL_SUFFIXES):
        return f"{host} names the local machine or network"
    if "." not in name:
        # A bare name is completed by the resolver's search domains: a host of the local network.
        return f"{host} is a local name (no domain)"
    return None
