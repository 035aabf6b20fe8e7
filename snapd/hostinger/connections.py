"""The keep-alive connections a client owns, made with urllib3's public connection classes.

A client that owns its connections knows the socket each attempt sends and reads on, so
its deadline keeper can shut that socket down when the deadline passes, whatever phase
the attempt is in: no subclass of urllib3 or requests, no look into their internals.

A connection goes back to the idle list only after its answer was read to the end and
the server kept it open; anything else closes it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Protocol
from urllib.parse import urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import make_headers

__all__ = ["ConnectionSource", "Connections", "Route"]

#: Idle connections kept per client; more only while more attempts run at once.
MAXIMUM_IDLE = 16


class Route:
    """Where a request goes: the target URL's origin and, when set, the proxy between.

    ``target`` is what goes on the request line: the path for a direct connection or a
    tunnel, the whole URL for a plain HTTP proxy.
    """

    def __init__(self, url: str, proxy: str | None) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.proxy = proxy
        path = parts.path or "/"
        self.path = f"{path}?{parts.query}" if parts.query else path
        forwarded = proxy is not None and self.scheme == "http"
        self.target = url if forwarded else self.path
        self.key = (self.scheme, self.host, self.port, proxy)
        #: Headers the request itself carries for a plain HTTP proxy (its credentials).
        self.proxy_headers = _proxy_headers(proxy) if forwarded else {}


class ConnectionSource(Protocol):
    """Where an attempt takes its connection from and gives it back to: the client's own
    :class:`Connections`, or a stand-in that answers in-process (the simulation's)."""

    def take(self, route: Route, connect_timeout: float) -> HTTPConnection: ...

    def give_back(self, route: Route, connection: HTTPConnection) -> None: ...

    def close(self) -> None: ...


class Connections:
    """Makes, lends and keeps the connections of one client. Thread-safe.

    Args:
        verify: ``True`` (or ``None``, requests' default) for requests' CA bundle, or a
            CA bundle file or directory. Certificates and host names are always verified.
    """

    def __init__(self, verify: bool | str | None = True) -> None:
        self._verify = True if verify is None or verify is False else verify
        self._idle: list[tuple[tuple[object, ...], HTTPConnection]] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self, route: Route, connect_timeout: float) -> HTTPConnection:
        """An idle connection for ``route`` that is still open, or a new, unconnected one."""
        with self._lock:
            for index in range(len(self._idle) - 1, -1, -1):
                key, connection = self._idle[index]
                if key == route.key:
                    del self._idle[index]
                    if connection.is_connected:
                        return connection
                    connection.close()
        return self._new(route, connect_timeout)

    def give_back(self, route: Route, connection: HTTPConnection) -> None:
        """Keep ``connection`` for the next attempt on ``route``, or close it."""
        with self._lock:
            if not self._closed and len(self._idle) < MAXIMUM_IDLE and connection.is_connected:
                self._idle.append((route.key, connection))
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection; connections given back later are closed too."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for _, connection in idle:
            with contextlib.suppress(OSError):
                connection.close()

    def _new(self, route: Route, connect_timeout: float) -> HTTPConnection:
        proxy = urlsplit(route.proxy) if route.proxy else None
        host = (proxy.hostname or "") if proxy else route.host
        port = (proxy.port or 80) if proxy else route.port
        connection: HTTPConnection
        if route.scheme == "https":
            bundle = DEFAULT_CA_BUNDLE_PATH if self._verify is True else str(self._verify)
            directory = os.path.isdir(bundle)
            connection = HTTPSConnection(
                host,
                port,
                timeout=connect_timeout,
                cert_reqs="CERT_REQUIRED",
                ca_certs=None if directory else bundle,
                ca_cert_dir=bundle if directory else None,
            )
            if proxy is not None:
                connection.set_tunnel(route.host, route.port, _proxy_headers(route.proxy))
        else:
            connection = HTTPConnection(host, port, timeout=connect_timeout)
        return connection


def _proxy_headers(proxy: str | None) -> dict[str, str]:
    """The proxy's basic credentials as a header, when its URL names them."""
    parts = urlsplit(proxy or "")
    if parts.username is None:
        return {}
    return dict(make_headers(proxy_basic_auth=f"{parts.username}:{parts.password or ''}"))
