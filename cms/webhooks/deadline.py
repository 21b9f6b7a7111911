"""One attempt, one deadline: sockets whose every operation may use only what is left of it.

A socket's timeout bounds each `recv()`, not the answer: a receiver sending its status line a
byte every two seconds held a sender for minutes against a 3 s timeout. Here each connect,
TLS handshake, read and write gets what is left of the attempt's deadline as its timeout (and
raises TimeoutError once nothing is left), so an attempt ends when its deadline passes whatever
the receiver does; the caller then closes the connection.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


class Deadline:
    """The moment an attempt of `seconds` started now must end."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left; raises TimeoutError when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's deadline passed")
        return left


class _Socket(socket.socket):
    """http.client reads through `makefile` (`recv_into`) and writes with `sendall`, whose
    timeout bounds the whole call."""

    deadline: Deadline

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        self.settimeout(self.deadline.left())
        super().sendall(data, flags)


class _TLSSocket(ssl.SSLSocket):
    """As `_Socket`; TLS's `sendall` loops over `send`, so that is bounded instead."""

    deadline: Deadline

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        self.settimeout(self.deadline.left())
        return super().send(data, flags)


def connect(addresses: Iterable[str], port: int, deadline: Deadline) -> socket.socket:
    """A connection to the first of `addresses` that answers before `deadline`, its reads and
    writes bounded by it. Raises OSError (TimeoutError once the deadline passed)."""
    error: OSError = ConnectionError("no address")
    for address in addresses:
        sock = _Socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.deadline = deadline
        try:
            sock.settimeout(deadline.left())
            sock.connect((address, port))
            return sock
        except OSError as e:
            sock.close()
            error = e
    raise error


def start_tls(sock: socket.socket, host: str, deadline: Deadline) -> ssl.SSLSocket:
    """`sock` wrapped in TLS, the certificate verified for `host`, the handshake and what
    follows bounded by `deadline`. Raises OSError (ssl.SSLError, TimeoutError)."""
    context = ssl.create_default_context()
    context.sslsocket_class = _TLSSocket
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    assert isinstance(tls, _TLSSocket)
    tls.deadline = deadline
    try:
        tls.settimeout(deadline.left())
        tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return tls
