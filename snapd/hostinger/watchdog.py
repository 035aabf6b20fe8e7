"""The watchdog that cuts one HTTP attempt's socket when its total deadline passes.

Used by :mod:`snapd.hostinger.exchange`, which tells it the connection an attempt sends
on and, once the headers are in, the answer it reads the body from.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import requests
from urllib3.connection import HTTPConnection

from snapd.hostinger.deadlines import Deadline, DeadlineTimers

__all__ = ["Watchdog", "answer_socket"]


class Watchdog:
    """Shuts down the socket of one attempt when its deadline passes.

    ``timers`` keeps the deadline; :meth:`start` schedules it, :meth:`finish` cancels it.
    """

    # One lock for all watchdogs: attaching a connection and shutting it down must not
    # interleave, or a late timer could cut a connection another attempt now uses.
    _owners_lock = threading.Lock()

    def __init__(self, seconds: float, timers: DeadlineTimers) -> None:
        self._timers = timers
        self._connection: HTTPConnection | None = None
        self._finished = False
        self.cut = False
        self._seconds = seconds
        self._deadline: Deadline | None = None
        self._answer_socket: socket.socket | None = None
        self._fired = False

    def start(self) -> None:
        self._deadline = self._timers.schedule(self._seconds, self._fire)

    def attach(self, connection: HTTPConnection) -> None:
        with self._owners_lock:
            self._connection = connection
            connection.snapd_watchdog = self  # type: ignore[attr-defined]

    def follow_answer(self, response: requests.Response) -> None:
        """Also watch the answer's own socket when the connection handed it over.

        After an answer that says ``Connection: close``, ``http.client`` passes the socket
        from the connection to the answer and the connection forgets it: without this,
        the deadline could not cut a body trickled on such an answer. That socket belongs
        to this answer alone (it is never reused), so no ownership check is needed.
        """
        sock = answer_socket(response)
        with self._owners_lock:
            connection = self._connection
            if sock is not None and (connection is None or connection.sock is not sock):
                self._answer_socket = sock
                if self._fired:
                    # The deadline passed while the socket changed hands: cut it now.
                    self._cut(sock)

    def finish(self) -> None:
        with self._owners_lock:
            self._finished = True
        if self._deadline is not None:
            self._deadline.cancel()

    def _fire(self) -> None:
        with self._owners_lock:
            self._fired = True
            if self._finished:
                return
            if self._answer_socket is not None:
                self._cut(self._answer_socket)
                return
            connection = self._connection
            if connection is None:
                return
            if getattr(connection, "snapd_watchdog", None) is not self:
                return
            sock = connection.sock
            if sock is None:
                return  # still connecting: the capped connect timeout ends that
            self._cut(sock)

    def _cut(self, sock: socket.socket) -> None:
        self.cut = True
        # socket.socket's own shutdown, not SSLSocket's, which would also drop the TLS
        # state under the reading thread's feet.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def answer_socket(response: requests.Response) -> socket.socket | None:
    """The socket an answer reads its body from, if it can be found.

    The path is urllib3's answer, then http.client's, then its buffered reader and the
    socket reader under it; any of them missing (another transport, say) gives ``None``.
    """
    sock: object = response.raw
    for name in ("_fp", "fp", "raw", "_sock"):
        sock = getattr(sock, name, None)
    return sock if isinstance(sock, socket.socket) else None
