"""Sending one delivery: where a webhook may point, and the signed POST.

Receivers are on the internet, so a URL may only lead to public addresses: one that resolves to
a loopback, private, link-local, multicast, reserved or otherwise non-global address is refused,
when the webhook is saved and again at every send (DNS can change in between), unless
`allow_private` is set. The POST goes to an address that was checked (the connection is made
to that IP, with the URL's host name in `Host` and in TLS), so a second DNS answer cannot slip
in between the check and the connection. Redirects are not followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from cms.errors import ValidationFailed

USER_AGENT = "git-cms-webhooks/1"
_READ_LIMIT = 64 * 1024  # of a receiver's answer; only its status matters


class SendFailed(Exception):
    """No HTTP answer: refused address, DNS failure, connection error or timeout."""


def check_url(url: str, allow_private: bool) -> None:
    """Accept `url` as a webhook target, or raise ValidationFailed naming `url`."""
    try:
        _addresses(url, allow_private)
    except SendFailed as e:
        raise ValidationFailed(f"The webhook URL is not allowed: {e}", {"url": [str(e)]}) from e


def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; raises SendFailed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise SendFailed("Not a valid URL.") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SendFailed("Must be an http or https URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise SendFailed("Credentials in the URL are not supported.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def _addresses(url: str, allow_private: bool) -> list[str]:
    """The IP addresses `url` may be sent to (at least one); raises SendFailed."""
    _, host, port, _ = _target(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise SendFailed(f"The host '{host}' cannot be resolved.") from e
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if allow_private:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        ip = mapped or ip
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            raise SendFailed(f"The host '{host}' resolves to {ip}, a loopback, private, "
                             "link-local or reserved address.")
    return addresses


def _connect(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """A connection to the first of the checked `addresses` that answers; raises OSError."""
    error: OSError = ConnectionError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as e:
            error = e
    raise error


class _Pinned(http.client.HTTPConnection):
    """HTTP to checked addresses, with the URL's host in `Host`."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to checked addresses; the certificate is verified for the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        sock = _connect(self.addresses, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def send(url: str, secret: str, message_id: str, body: str, *, timeout: float,
         allow_private: bool) -> int:
    """POST `body` to `url`, signed per Standard Webhooks; return the answer's status.

    Raises SendFailed when there is no answer within `timeout` seconds in all.
    """
    deadline = time.monotonic() + timeout
    scheme, host, port, path = _target(url)
    addresses = _addresses(url, allow_private)
    now = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    kind = _PinnedTLS if scheme == "https" else _Pinned
    connection = kind(host, port, addresses, timeout)
    try:
        connection.request("POST", path, body=body.encode(), headers=headers)
        _remaining(connection, deadline)
        response = connection.getresponse()
        left = _READ_LIMIT
        while left > 0:
            _remaining(connection, deadline)
            chunk = response.read1(left)
            if not chunk:
                break
            left -= len(chunk)
        return response.status
    except (OSError, http.client.HTTPException) as e:
        raise SendFailed(_describe(e)) from e
    finally:
        connection.close()


def _remaining(connection: http.client.HTTPConnection, deadline: float) -> None:
    """Shorten the socket's timeout to what is left of the whole attempt's."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    if connection.sock is not None:
        connection.sock.settimeout(left)


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError | socket.timeout):
        return "No answer in time."
    return f"{type(e).__name__}: {e}"[:200]
