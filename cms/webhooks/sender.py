"""Sending one delivery: the signed POST, within one deadline.

The POST goes to an address `addresses` checked (the connection is made to that IP, with the
URL's host name in `Host` and in TLS), so a second DNS answer cannot slip in between the check
and the connection. Connecting, sending and reading the status and the body all share one
deadline (`deadline`), however slowly the receiver answers. Redirects are not followed: a 3xx
is a failed attempt.
"""

from __future__ import annotations

import http.client
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from cms.webhooks.addresses import AddressRefused, Target, resolve
from cms.webhooks.deadline import Deadline, connect, start_tls

USER_AGENT = "git-cms-webhooks/1"
_READ_LIMIT = 64 * 1024  # of a receiver's answer; only its status matters


class SendFailed(Exception):
    """No HTTP answer: refused address, DNS failure, connection error or timeout."""


class _Pinned(http.client.HTTPConnection):
    """HTTP(S) to the target's checked addresses, with the URL's host in `Host`."""

    def __init__(self, target: Target, deadline: Deadline) -> None:
        super().__init__(target.host, target.port, timeout=deadline.seconds)
        self.target = target
        self.deadline = deadline
        self.default_port = 443 if target.scheme == "https" else 80  # no port in `Host`

    def connect(self) -> None:
        sock = connect(self.target.addresses, self.port, self.deadline)
        self.sock = (
            start_tls(sock, self.host, self.deadline) if self.target.scheme == "https" else sock
        )


def send(
    url: str, secret: str, message_id: str, body: str, *, timeout: float, allow_private: bool
) -> int:
    """POST `body` to `url`, signed per Standard Webhooks; return the answer's status.

    Raises SendFailed when the address is refused, or there is no whole answer (status line,
    headers and up to 64 KiB of body) within `timeout` seconds of the call, DNS included.
    """
    deadline = Deadline(timeout)
    try:
        target = resolve(url, allow_private)
    except AddressRefused as e:
        raise SendFailed(str(e)) from e
    now = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    connection = _Pinned(target, deadline)
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(_READ_LIMIT)
        return response.status
    except TimeoutError as e:
        raise SendFailed(f"No complete answer within {timeout:g} s.") from e
    except (OSError, http.client.HTTPException) as e:
        raise SendFailed(f"{type(e).__name__}: {e}"[:200]) from e
    finally:
        connection.close()
