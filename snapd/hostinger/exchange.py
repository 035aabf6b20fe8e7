"""One HTTP attempt with a total deadline and a bounded body.

A socket timeout bounds each read, not the attempt: a server that trickles one byte every
few seconds keeps an attempt alive forever, and an answer's body may be as long as the
server likes. :func:`exchange` bounds both:

* the body is read in chunks and reading stops at :data:`MAXIMUM_BODY_BYTES` (decoded
  bytes, so a compressed bomb is bounded too);
* the attempt runs on a connection the client owns (:mod:`snapd.hostinger.connections`),
  so a :class:`~snapd.hostinger.watchdog.Watchdog` knows its socket and the client's
  deadline keeper shuts it down when the deadline passes, whichever phase the attempt is
  in (sending, waiting for headers, reading the body); each socket read also waits at
  most the time left, and the time is checked again between body chunks.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
from urllib3.connection import HTTPConnection
from urllib3.exceptions import NewConnectionError, ProxyError
from urllib3.response import BaseHTTPResponse

from snapd.clock import unix_time
from snapd.hostinger.connections import ConnectionSource, Route
from snapd.hostinger.deadlines import DeadlineTimers
from snapd.hostinger.watchdog import Watchdog

__all__ = [
    "MAXIMUM_BODY_BYTES",
    "DeadlineExceededError",
    "Reply",
    "exchange",
]

#: Bodies beyond this are not read: no answer snapd needs comes near it.
MAXIMUM_BODY_BYTES = 1024 * 1024

_CHUNK_BYTES = 64 * 1024


class DeadlineExceededError(Exception):
    """The attempt did not finish within its total deadline (the request was sent)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What one attempt received.

    ``content`` is the whole body, or ``None`` when it was larger than
    :data:`MAXIMUM_BODY_BYTES` (then it was not read past the cap). ``received_at`` is
    the wall-clock time at which the headers arrived.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes | None
    received_at: float


@dataclass(frozen=True, slots=True)
class Line:
    """What an attempt goes through: the client's connections and deadline keeper, and
    the proxies by scheme."""

    connections: ConnectionSource
    timers: DeadlineTimers
    proxies: Mapping[str, str]


def exchange(
    line: Line,
    request: requests.PreparedRequest,
    *,
    connect_seconds: float,
    total_seconds: float,
    monotonic: Callable[[], float],
    wall_clock: Callable[[], float] = unix_time,
) -> Reply:
    """Send one prepared request and read its answer, all within ``total_seconds``.

    Raises:
        DeadlineExceededError: the deadline passed after the request started to go out.
        urllib3.exceptions.HTTPError, OSError: the attempt failed otherwise (a connection
            that could not be made is a ``NewConnectionError``, an untrusted certificate
            an ``ssl.CertificateError``); the caller classifies it.
    """
    url = request.url or ""
    route = Route(url, _proxy_for(url, line.proxies))
    if route.proxy is not None and not route.proxy.startswith("http://"):
        raise ProxyError("only http:// proxies are supported; nothing was sent", OSError())
    deadline = monotonic() + total_seconds
    watchdog = Watchdog()
    timer = line.timers.schedule(total_seconds, watchdog.fire)
    connection = line.connections.take(route, min(connect_seconds, total_seconds))
    reusable = False
    try:
        # The socket, kept here: after an answer that says ``Connection: close`` the
        # connection hands it to the answer and forgets it, but it is still this attempt's.
        sock = _connect(connection)
        watchdog.watch(sock)
        _limit_reads(sock, deadline - monotonic())
        response = _send(connection, route, request)
        received_at = wall_clock()
        content = _read_capped(response, sock, deadline, monotonic)
        reusable = content is not None and not watchdog.cut
    except DeadlineExceededError:
        raise
    except Exception:
        if watchdog.cut:
            raise DeadlineExceededError(f"no complete answer within {total_seconds:g} s") from None
        raise
    finally:
        watchdog.finish()
        timer.cancel()
        if reusable:
            line.connections.give_back(route, connection)
        else:
            connection.close()
    return Reply(response.status, response.headers, content, received_at)


def _send(
    connection: HTTPConnection, route: Route, request: requests.PreparedRequest
) -> BaseHTTPResponse:
    """Send ``request`` on ``connection`` and wait for the answer's headers."""
    headers = {**request.headers, **route.proxy_headers}
    body = request.body.encode() if isinstance(request.body, str) else request.body
    method = request.method or "GET"
    connection.request(method, route.target, body=body, headers=headers, preload_content=False)
    return connection.getresponse()


def _proxy_for(url: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy for ``url``, ``http://`` added when it names no scheme (as requests does)."""
    proxy = requests.utils.select_proxy(url, dict(proxies))
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _connect(connection: HTTPConnection) -> socket.socket | None:
    """Make the connection unless it is still open from an earlier attempt; its socket."""
    if not connection.is_connected:
        _connect_now(connection)
    return connection.sock


def _connect_now(connection: HTTPConnection) -> None:
    """Make the connection.

    Whatever stops it (a refusal, a timeout, a proxy that says no, a failed handshake) is
    a ``NewConnectionError``: nothing was sent. An untrusted certificate stays what it is.
    """
    try:
        connection.connect()
    except NewConnectionError:
        raise
    except (OSError, ValueError) as failure:
        if isinstance(failure, ssl.CertificateError):
            raise
        raise NewConnectionError(connection, type(failure).__name__) from failure


def _limit_reads(sock: socket.socket | None, seconds: float) -> None:
    """No single socket read or write of this attempt waits longer than ``seconds``.

    A socket the answer already closed (it read the last byte of a ``Connection: close``
    answer) has nothing left to wait for.
    """
    if sock is not None and sock.fileno() != -1:
        sock.settimeout(max(seconds, 0.001))


def _read_capped(
    response: BaseHTTPResponse,
    sock: socket.socket | None,
    deadline: float,
    monotonic: Callable[[], float],
) -> bytes | None:
    """The body, or ``None`` once it grows past the cap; checks the deadline per chunk."""
    body = bytearray()
    while True:
        left = deadline - monotonic()
        if left <= 0:
            raise DeadlineExceededError("the answer was still arriving at the deadline")
        _limit_reads(sock, left)
        chunk = response.read(_CHUNK_BYTES, decode_content=True)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAXIMUM_BODY_BYTES:
            return None
