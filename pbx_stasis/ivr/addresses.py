"""Which hosts a flow's lookups may reach: internal ones only for tenants the operator opted in.

A lookup is an HTTP request the server makes for a tenant's admin, so without a rule a flow
could read the cloud metadata service (169.254.169.254), Asterisk's ARI on 127.0.0.1:8088 or
anything else on the private network. "Internal" is every address that is not globally
routable (loopback, link-local, private ranges, shared and reserved ones, unspecified,
multicast), and the names that always mean the local machine or network. The rule is applied
twice: to the url as written when a flow is validated (literal addresses and well-known names;
a name's DNS answer is not known then and may change), and to the addresses a name resolves to
at the moment of each request (`PublicResolver`), so a public name pointing inside is refused too.

The rule itself (which addresses and names are internal) is in hosts.py, without aiohttp: the
flows' loader checks urls with it.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from pbx_stasis.ivr.hosts import internal_address, internal_host


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
