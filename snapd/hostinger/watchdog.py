"""The watchdog that cuts one HTTP attempt's socket when its total deadline passes.

:mod:`snapd.hostinger.exchange` hands it the socket of the connection the attempt owns,
once that connection is made; the client's deadline keeper calls :meth:`Watchdog.fire`
when the deadline passes.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Watchdog"]


class Watchdog:
    """Shuts down the socket of one attempt when :meth:`fire` is called before :meth:`finish`.

    ``cut`` tells afterwards whether it did: the attempt's error then is the deadline's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._fired = False
        self._finished = False
        self.cut = False

    def watch(self, sock: socket.socket | None) -> None:
        """Watch ``sock``; cut it at once when the deadline already passed."""
        with self._lock:
            self._socket = sock
            if self._fired and not self._finished:
                self._cut()

    def fire(self) -> None:
        """The deadline passed: cut the socket, unless the attempt has finished."""
        with self._lock:
            self._fired = True
            if not self._finished:
                self._cut()

    def finish(self) -> None:
        """The attempt is over; a later :meth:`fire` does nothing."""
        with self._lock:
            self._finished = True

    def _cut(self) -> None:
        if self._socket is None:
            return  # still connecting: the capped connect timeout ends that
        self.cut = True
        # socket.socket's own shutdown, not SSLSocket's, which would also drop the TLS
        # state under the reading thread's feet.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
