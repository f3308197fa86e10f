"""The caller's network address, decided in one place.

Limits per address and the audit log's ``ip`` both rest on this. ``X-Forwarded-For`` is
written by whoever sends the request, so only the entries appended by our own proxies
can be believed: the list is walked from the right, skipping trusted proxies, and the
first address that is not one of ours is the client. With no trusted proxies configured
the header is ignored altogether and the socket's peer is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


class AddressError(ValueError):
    """A trusted-proxy entry is neither an address nor a CIDR network."""


@cache
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse ``SUPERAPP_TRUSTED_PROXIES`` entries (``10.0.0.7``, ``10.0.0.0/8``, ``::1``)."""
    networks: list[Network] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise AddressError(f"SUPERAPP_TRUSTED_PROXIES: {entry!r} is not an address") from None
    return tuple(networks)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Iterable[Network]
) -> bool:
    return any(address in net for net in nets)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: tuple[Network, ...]
) -> str:
    """The client's address from the socket ``peer`` and every ``X-Forwarded-For`` value.

    A hop is believed only while the hop to its right is a trusted proxy; an entry that is
    not an address stops the walk at the last hop that could be believed.
    """
    current = _parse(peer or "")
    if current is None:
        return peer or UNKNOWN
    if not trusted:
        return str(current)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    while _trusted(current, trusted) and hops:
        candidate = _parse(hops.pop())
        if candidate is None:
            break
        current = candidate
    return str(current)
