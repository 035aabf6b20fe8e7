"""An HTTP adapter whose connections another thread can cut: a total deadline for a request.

A socket timeout bounds each read, not the request: a server that trickles a byte every
few seconds, or streams an endless answer, holds a request forever. A caller that owns a
deadline mounts an ``AbortableAdapter`` on a session of its own and calls ``abort`` when
the deadline passes; every read or write on the adapter's sockets then ends at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["AbortableAdapter"]


class AbortableAdapter(HTTPAdapter):
    """An adapter that remembers the sockets it opens, so that they can be shut down from
    another thread: a blocked read then returns at once.

    ``abort`` is final: a socket opened after it (a connection that was still being made)
    is shut down as soon as it exists. Connections through an HTTP(S) proxy are tracked;
    through a SOCKS proxy, not.
    """

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._aborted = False
        super().__init__()

    def init_poolmanager(self, *arguments: Any, **keywords: Any) -> None:
        super().init_poolmanager(*arguments, **keywords)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes()

    def _pool_classes(self) -> dict[str, type[Any]]:
        return {
            "http": _tracking_pool(HTTPConnectionPool, self._opened),
            "https": _tracking_pool(HTTPSConnectionPool, self._opened),
        }

    def proxy_manager_for(self, proxy: str, **proxy_keywords: Any) -> Any:
        # An HTTP(S) proxy's pools are tracked too (the proxy may be what stalls); a SOCKS
        # proxy's pools have connection classes of their own and are left as they are.
        manager = super().proxy_manager_for(proxy, **proxy_keywords)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = self._pool_classes()
        return manager

    def abort(self) -> None:
        """Shut down every socket of this adapter, now and from now on."""
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            aborted = self._aborted
        if aborted:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state under the
    # feet of the thread reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _tracking_pool(
    pool: type[HTTPConnectionPool], opened: Callable[[socket.socket], None]
) -> type[Any]:
    """A ``pool`` class whose connections report their sockets to ``opened``: the plain one
    as soon as it exists (a TLS handshake can stall too), the TLS one once it is made."""

    class TrackingConnection(pool.ConnectionCls):  # type: ignore[name-defined,misc]
        def _new_conn(self) -> socket.socket:
            plain: socket.socket = super()._new_conn()
            opened(plain)
            return plain

        def connect(self) -> None:
            super().connect()
            if self.sock is not None:
                opened(self.sock)

    return type(f"Tracking{pool.__name__}", (pool,), {"ConnectionCls": TrackingConnection})
