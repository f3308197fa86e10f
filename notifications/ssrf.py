"""The webhook SSRF guard: an enterprise's URL must not lead us into our own network.

A webhook URL is ours to fetch, so whoever registers one chooses where our servers connect.
In production (``allow_private=False``) a URL is refused unless it is ``https``, carries no
``user:password@``, and every address its host resolves to is a public unicast address:
not loopback, link-local (169.254.169.254, the cloud metadata service), private (10/8,
172.16/12, 192.168/16, fc00::/7), shared (100.64/10), multicast, reserved or unspecified,
and not one of those dressed as IPv6 (``::ffff:127.0.0.1``, 6to4 ``2002:7f00:1::``,
Teredo, NAT64 ``64:ff9b::``). One bad address among good ones refuses the URL: the
connection could go to any of them.

:func:`check_webhook_url` is for registration. Sending checks again (DNS answers change:
rebinding), and must connect to the address it checked rather than look the name up a
second time: :func:`resolve_checked` is the single lookup, and ``WebhookChannel`` hands it
to aiohttp as its resolver. ``allow_private=True`` (tests, development) admits ``http``
and any address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from yarl import URL

# (host, port) -> the IP addresses it resolves to, as text. Injected in tests.
Resolve = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
# RFC 6052's well-known prefix; the local-use 64:ff9b:1::/48 embeds by an operator's own
# layout, so it is judged as itself (reserved) rather than guessed at.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookUrlRefused(ValueError):
    """A webhook URL we will not call. ``reason`` is a short code: ``malformed``,
    ``too_long``, ``scheme``, ``userinfo``, ``host``, ``unresolvable``, or the kind of
    address refused (``loopback``, ``link_local``, ``private``, ``multicast``, ``reserved``,
    ``unspecified``, ``not_global``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"webhook URL refused ({reason}): {detail}")
        self.reason = reason


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, without blocking the event loop."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # the idna codec refuses the name (e.g. a label over 63 characters)
        raise socket.gaierror(socket.EAI_NONAME, "not a host name") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_webhook_url(url: str, *, allow_private: bool) -> URL:
    """The URL's form alone: scheme, no userinfo, a host. Raises :class:`WebhookUrlRefused`."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused("too_long", f"longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise WebhookUrlRefused("malformed", "must not contain spaces or control characters")
    try:
        parsed = URL(url)
        port = parsed.port
    except (ValueError, TypeError):
        raise WebhookUrlRefused("malformed", "not a URL") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        raise WebhookUrlRefused("scheme", f"must be {' or '.join(schemes)}")
    # userinfo would be sent as credentials, and "https://good.example@10.0.0.1/" misleads
    # the eye about where the request goes.
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise WebhookUrlRefused("userinfo", "must not contain user or password")
    if not parsed.raw_host or not port:
        raise WebhookUrlRefused("host", "must name a host")
    return parsed


def address_refusal(address: str) -> str | None:
    """Why ``address`` may not be called from production, or ``None`` if it is public."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "malformed"
    if isinstance(ip, ipaddress.IPv6Address):
        # Translated forms (::ffff:a.b.c.d, NAT64) reach exactly their IPv4 address, which is
        # what to judge; tunnels (6to4, Teredo) are judged as themselves and as their IPv4.
        translated = ip.ipv4_mapped or _nat64(ip)
        if translated is not None:
            return _refusal(translated)
        for candidate in (ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            reason = _refusal(candidate) if candidate is not None else None
            if reason is not None:
                return reason
    return _refusal(ip)


async def resolve_checked(
    host: str, port: int, *, allow_private: bool, resolve: Resolve = system_resolve
) -> list[str]:
    """Resolve ``host`` once and return its addresses, all of them safe to connect to.

    Raises :class:`WebhookUrlRefused` when one is not (unless ``allow_private``); a failed
    lookup raises the resolver's own ``OSError`` (``socket.gaierror``), which may pass.
    """
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]  # a literal needs no lookup
    except ValueError:
        addresses = await resolve(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                raise WebhookUrlRefused(reason, f"{host} resolves to a {reason} address")
    return addresses


async def check_webhook_url(
    url: str, *, allow_private: bool, resolve: Resolve = system_resolve
) -> None:
    """Refuse, with :class:`WebhookUrlRefused`, a webhook URL that production must not call.

    For registration: the host must resolve now, and only to public addresses (see the
    module's docstring). Passing says nothing about later: the channel checks again.
    """
    parsed = parse_webhook_url(url, allow_private=allow_private)
    try:
        await resolve_checked(
            parsed.raw_host or "", parsed.port or 443, allow_private=allow_private, resolve=resolve
        )
    except OSError:
        raise WebhookUrlRefused("unresolvable", f"{parsed.raw_host} does not resolve") from None


def _nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 address under the well-known prefix reaches."""
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(ip: IPAddress) -> str | None:
    # The named kinds first, for a clear message; "not_global" catches the rest
    # (100.64.0.0/10, documentation ranges, benchmarking nets...).
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "private"
    if not ip.is_global:
        return "not_global"
    return None
