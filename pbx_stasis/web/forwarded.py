"""Behind a reverse proxy: who the client is, and whether it came over HTTPS.

Only a peer listed in `web.trusted_proxies` may say so, through X-Forwarded-For (the client is
the rightmost address that is not itself a trusted proxy: the ones to its left could have been
written by the client) and X-Forwarded-Proto (the last value, the one the nearest proxy
added). From any other peer these headers are ignored, since any client can send them.
Pure: no IO, unit-tested.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """`127.0.0.1`, `10.0.0.0/8`, `::1`...; ValueError names the first that is not one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {value!r}") from exc
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def forwarded(
    peer: str | None, forwarded_for: str | None, forwarded_proto: str | None,
    proxies: tuple[Network, ...],
) -> tuple[str | None, str | None]:
    """(client address, scheme) the request stands for; None where the peer's own apply."""
    if not proxies or peer is None or not _trusted(peer, proxies):
        return None, None
    client = None
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        client = hop
        if not _trusted(hop, proxies):
            break
    scheme = None
    if forwarded_proto:
        last = forwarded_proto.split(",")[-1].strip().lower()
        scheme = last if last in ("http", "https") else None
    return client, scheme
