"""Where a webhook may point: public addresses only.

Receivers are on the internet, so a URL may only lead to public addresses: one that resolves to
a loopback, private, link-local, multicast, reserved or otherwise non-global address is refused,
when the webhook is saved and again at every send (DNS can change in between), unless
`allow_private` is set. IPv6 forms that carry an IPv4 address are judged by the address they
lead to: an IPv4-mapped one, a 6to4 one (2002::/16, whose bits 16-47 are the IPv4 address a
relay delivers it to) and Teredo (2001::/32, a tunnel to its client: the last 32 bits
inverted), which is refused whatever its client.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from cms.errors import ValidationFailed


class AddressRefused(Exception):
    """A webhook URL that is malformed, cannot be resolved or leads where it may not."""


@dataclass(frozen=True)
class Target:
    """Where one POST goes: the URL's parts and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]  # at least one


def check_url(url: str, allow_private: bool) -> None:
    """Accept `url` as a webhook target, or raise ValidationFailed naming `url`."""
    try:
        resolve(url, allow_private)
    except AddressRefused as e:
        raise ValidationFailed(f"The webhook URL is not allowed: {e}", {"url": [str(e)]}) from e


def resolve(url: str, allow_private: bool) -> Target:
    """The target of an http(s) URL, resolved and checked; raises AddressRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise AddressRefused("Not a valid URL.") from e
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise AddressRefused("Must be an http or https URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("Credentials in the URL are not supported.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise AddressRefused(f"The host '{host}' cannot be resolved.") from e
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            refused = _refused(ipaddress.ip_address(address.split("%", 1)[0]))
            if refused:
                raise AddressRefused(f"The host '{host}' resolves to {refused}.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses)


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What `ip` is, when a webhook may not be sent to it; None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _refused(ip.ipv4_mapped)
        if ip.teredo is not None:
            return f"{ip}, a Teredo address (its client is {ip.teredo[1]})"
        if ip.sixtofour is not None and _refused(ip.sixtofour):
            return f"{ip}, a 6to4 address embedding {ip.sixtofour}, which is not public"
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return f"{ip}, a loopback, private, link-local or reserved address"
    return None
