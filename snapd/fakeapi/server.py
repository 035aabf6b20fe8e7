"""The HTTP side of the fake: a ``ThreadingHTTPServer`` that hands requests to a
``Dispatcher`` and writes its answers. Quiet unless ``verbose``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from snapd.fakeapi.dispatch import Dispatcher


class FakeHTTPServer(ThreadingHTTPServer):
    """Serves one dispatcher; remembers open connections so that ``close_connections``
    can end kept-alive ones when the fake stops (otherwise they would keep answering).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, dispatcher: Dispatcher, *, verbose: bool) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.dispatcher = dispatcher
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), RequestHandler)

    def track(self, connection: socket.socket) -> None:
        """Remember an open connection."""
        with self._connections_lock:
            self._connections.add(connection)

    def forget(self, connection: socket.socket) -> None:
        """Forget a closed connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down every open connection; their handler threads then end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # A connection the other side already closed refuses shutdown: nothing to do.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, reset) is routine for a fault-injecting fake.
        if self.verbose:
            super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """Reads a request, asks the dispatcher, writes the answer (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed acknowledgement each answer on a kept-alive connection would stall ~40 ms.
    disable_nagle_algorithm = True
    server_version = "FakeHostinger/1"

    def _fake_server(self) -> FakeHTTPServer:
        return cast(FakeHTTPServer, self.server)

    def setup(self) -> None:
        super().setup()
        self._fake_server().track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake_server().forget(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        # The body is not used, but it must be read to keep the connection in step.
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        answer = self._fake_server().dispatcher.dispatch(
            self.command, self.path, self.headers.get("Authorization")
        )
        if answer.body is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self._fake_server().verbose:
            super().log_message(format, *args)
