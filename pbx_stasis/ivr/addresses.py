"""Which hosts a flow's lookups may reach: internal ones only for tenants the operator opted in.

A lookup is an HTTP request the server makes for a tenant's admin, so without a rule a flow
could read the cloud metadata service (169.254.169.254), Asterisk's ARI on 127.0.0.1:8088 or
anything else on the private network. "Internal" is every address that is not globally
routable (loopback, link-local, private ranges, shared and reserved ones, unspecified,
multicast), and the names that always mean the local machine or network. The rule is applied
twice: to the url as written when a flow is validated (literal addresses and well-known names;
a name's DNS answer is not known then and may change), and to the addresses a name resolves to
at the moment of each request (`PublicResolver`), so a public name pointing inside is refused too.
"""

from __future__ import annotations

import ipaddress
import re
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

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


def refused_url(url: str) -> str | None:
    """Why a rendered lookup url may not be requested by a tenant not opted in, or None.

    Read with yarl, the parser aiohttp requests with. aiohttp does not resolve a literal
    address, so this check is the one for those; names are checked again by PublicResolver.
    """
    try:
        host = URL(url).host
    except ValueError:
        return "the url cannot be read"
    if not host:
        return "the url names no host"
    return internal_host(host)


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name any of whose addresses is internal (the connector
    would pick one of them)."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        for result in found:
            if internal_address(result["host"]):
                raise OSError(f"{host} resolves to the internal address {result['host']}")
        return found

    async def close(self) -> None:
        await self._resolver.close()


def public_session() -> aiohttp.ClientSession:
    """An HTTP session for lookups that refuses internal addresses (tenants not opted in)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=PublicResolver()))
