"""The HTTP side of the fake: a ``ThreadingHTTPServer`` that hands requests to a
``Dispatcher`` and writes its answers, slowly or streamed when a fault says so. Quiet
unless ``verbose``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

from snapd.fakeapi.dispatch import FakeResponse

_STREAM_CHUNK = 64 * 1024


class Answerer(Protocol):
    """What the server hands a request to: a ``Dispatcher``, or an ``AccountRouter`` that
    picks one per token."""

    def dispatch(self, method: str, target: str, authorization: str | None) -> FakeResponse: ...


class FakeHTTPServer(ThreadingHTTPServer):
    """Serves one dispatcher; remembers open connections so that ``close_connections``
    can end kept-alive ones when the fake stops (otherwise they would keep answering).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, dispatcher: Answerer, *, verbose: bool) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.dispatcher = dispatcher
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        # Set when the fake stops; slow answers (trickle, hold) wait on it to end early.
        self.stopping = threading.Event()
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

    def send_response(self, code: int, message: str | None = None) -> None:
        # As the base class, minus its Date header: the answer carries the fake's own,
        # which follows the fake's (possibly manual, possibly skewed) server clock.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

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
        delivery = answer.delivery
        if delivery is not None and delivery.kind in ("trickle", "trickle_body"):
            self._trickle(answer, delivery.seconds, whole=delivery.kind == "trickle")
            return
        if delivery is not None and self._fake_server().stopping.wait(delivery.seconds):
            self.close_connection = True  # accept_then_timeout, cut short by stop()
            return
        length = answer.streamed_size if answer.streamed_size is not None else len(answer.body)
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        if answer.streamed_size is not None:
            # The stream ends the connection (it may be cut short at stop()): say so, or
            # the client would put it back in its pool and its next request meet a closed
            # socket. send_header also sets close_connection.
            self.send_header("Connection", "close")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if answer.streamed_size is not None:
            self._stream_array(answer.streamed_size)
        else:
            self.wfile.write(answer.body)

    def _head_bytes(self, answer: FakeResponse, length: int) -> bytes:
        try:
            phrase = HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = "Error"
        lines = [f"{self.protocol_version} {answer.status} {phrase}"]
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
        # A trickled answer ends the connection: say so, so that no client reuses it.
        lines += ["Connection: close"]
        lines += [f"{name}: {value}" for name, value in answer.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _trickle(self, answer: FakeResponse, seconds: float, *, whole: bool) -> None:
        """Send the answer one byte every ``seconds``; the headers too when ``whole``."""
        body = answer.body or b""
        head = self._head_bytes(answer, len(body))
        self.close_connection = True
        stopping = self._fake_server().stopping
        try:
            if not whole:
                self.wfile.write(head)
            for index, byte in enumerate(head + body if whole else body):
                if (index or whole) and stopping.wait(seconds):
                    return
                self.wfile.write(bytes((byte,)))
        except OSError:
            return  # the client gave up: that is what the fault is for

    def _stream_array(self, size: int) -> None:
        """Send ``[0,0,...,0]`` of exactly ``size`` bytes without building it in memory."""
        self.close_connection = True
        stopping = self._fake_server().stopping
        if size < 2:
            self.wfile.write(b"[]"[:size])
            return
        chunk = b"0," * (_STREAM_CHUNK // 2)
        try:
            self.wfile.write(b"[")
            left = size - 2  # between the brackets: "0,0,...,0"
            while left > 0 and not stopping.is_set():
                piece = chunk[: min(left, len(chunk))]
                if left <= len(chunk):
                    piece = piece[:-1] + b" " if piece.endswith(b",") else piece
                self.wfile.write(piece)
                left -= len(piece)
            self.wfile.write(b"]")
        except OSError:
            return

    def log_message(self, format: str, *args: Any) -> None:
        if self._fake_server().verbose:
            super().log_message(format, *args)
