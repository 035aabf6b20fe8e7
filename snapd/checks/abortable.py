"""A requests transport adapter whose requests another thread can cut: a total deadline.

A socket timeout bounds each read, not the request: a server that trickles a byte every
few seconds, or streams an endless answer, holds a request forever. A caller that owns a
deadline mounts an :class:`AbortableAdapter` on a session of its own and calls ``abort``
when the deadline passes; every read or write on the adapter's sockets then ends at once.

The adapter makes its connections itself, with urllib3's public connection classes, so it
knows their sockets: it has the interface of a requests adapter (``send`` and ``close``)
without deriving from one, and reaches into neither library.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
import threading
import typing
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.util import make_headers

__all__ = ["AbortableAdapter"]

Timeout = float | tuple[float | None, float | None] | None


class AbortableAdapter:
    """Sends each request on a new connection whose socket :meth:`abort` shuts down.

    ``abort`` is final: a connection made after it (one that was still being made) is
    shut down as soon as it exists. ``http://`` proxies are supported, as requests finds
    them in the environment (HTTPS goes through them as a tunnel); other proxies are
    refused (``InvalidProxyURL``). TLS certificates and host names are always verified.
    """

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._aborted = False
        self._builder = HTTPAdapter(max_retries=0)  # only turns an answer into a Response

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``request``; raise requests' own exceptions, as its adapter would."""
        connect_seconds, read_seconds = timeout if isinstance(timeout, tuple) else (timeout,) * 2
        url = request.url or ""
        proxy = select_proxy(url, dict(proxies or {}))
        proxy = (proxy if "://" in proxy else f"http://{proxy}") if proxy else None
        if proxy is not None and not proxy.startswith("http://"):
            raise requests.exceptions.InvalidProxyURL("only http:// proxies are supported")
        connection, target, extra = _connection(url, proxy, verify, connect_seconds)
        with self._lock:
            self._connections.append(connection)
        self._connect(connection, proxy, request)
        if connection.sock is not None:
            connection.sock.settimeout(read_seconds)
        try:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            headers = {**request.headers, **extra}
            connection.request(
                request.method or "GET", target, body, headers, preload_content=False
            )
            answer = connection.getresponse()
        except TimeoutError as error:
            raise requests.ReadTimeout(error, request=request) from error
        except (OSError, HTTPError, http.client.HTTPException) as error:
            raise requests.ConnectionError(error, request=request) from error
        response = self._builder.build_response(request, answer)
        if not stream:
            _ = response.content
        return response

    def _connect(
        self, connection: HTTPConnection, proxy: str | None, request: requests.PreparedRequest
    ) -> None:
        """Make the connection and track its socket; requests' exceptions for failures."""
        try:
            connection.connect()
        except ssl.SSLError as error:
            raise requests.exceptions.SSLError(error, request=request) from error
        except (ConnectTimeoutError, TimeoutError) as error:
            if isinstance(error, NewConnectionError):
                raise _refused(error, proxy, request) from error
            raise requests.ConnectTimeout(error, request=request) from error
        except OSError as error:
            raise _refused(error, proxy, request) from error
        finally:
            self._opened(connection.sock)

    def mount(self, session: requests.Session) -> None:
        """Send ``session``'s HTTP and HTTPS requests through this adapter."""
        # requests takes any object with its adapters' interface; its type hints name the
        # base class, which this adapter has the methods of without deriving from it.
        as_adapter = typing.cast(BaseAdapter, self)
        session.mount("http://", as_adapter)
        session.mount("https://", as_adapter)

    def abort(self) -> None:
        """Shut down every socket of this adapter, now and from now on."""
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        """Close every connection this adapter made."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()
        self._builder.close()

    def _opened(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            aborted = self._aborted
        if aborted:
            _shut(sock)


def _connection(
    url: str, proxy: str | None, verify: bool | str, connect_seconds: float | None
) -> tuple[HTTPConnection, str, dict[str, str]]:
    """A new connection for ``url`` (through ``proxy``), the request line's target, and
    the headers a plain HTTP proxy needs on the request itself."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    via = urlsplit(proxy) if proxy else None
    address = (via.hostname or "", via.port or 80) if via else (host, port)
    credentials = _proxy_credentials(via)
    if parts.scheme != "https":
        connection = HTTPConnection(*address, timeout=connect_seconds)
        return connection, (url if via else path), credentials
    bundle = DEFAULT_CA_BUNDLE_PATH if verify is True or verify is False else verify
    directory = os.path.isdir(bundle)
    secure = HTTPSConnection(
        *address,
        timeout=connect_seconds,
        cert_reqs="CERT_REQUIRED",
        ca_certs=None if directory else bundle,
        ca_cert_dir=bundle if directory else None,
    )
    if via is not None:
        secure.set_tunnel(host, port, credentials)
    return secure, path, {}


def _proxy_credentials(via: Any) -> dict[str, str]:
    if via is None or via.username is None:
        return {}
    return dict(make_headers(proxy_basic_auth=f"{via.username}:{via.password or ''}"))


def _refused(
    error: BaseException, proxy: str | None, request: requests.PreparedRequest
) -> requests.RequestException:
    if proxy is not None:
        return requests.exceptions.ProxyError(error, request=request)
    return requests.ConnectionError(error, request=request)


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state under the
    # feet of the thread reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
