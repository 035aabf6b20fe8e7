"""Badly behaved notification receivers on port 0: one that streams an endless answer, one
that trickles its answer a byte at a time. Each stops on its own after ``limit`` seconds,
so that a client without a deadline shows up as slow instead of hanging the suite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = b"x" * 65536


class BadReceiver:
    """``mode`` is ``stream`` (200, then ``x`` as fast as the client takes it) or
    ``trickle`` (one byte of the status line and headers every ``interval`` seconds)."""

    def __init__(self, mode: str, limit: float = 6.0, interval: float = 0.2) -> None:
        self.mode = mode
        self.limit = limit
        self.interval = interval
        self.requests = 0
        self.bytes_written = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for_request(self, timeout: float = 5.0) -> None:
        """Return once a request has arrived; fail after ``timeout`` seconds."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: self.requests > 0, timeout), "no request arrived"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._arrived:
                    receiver.requests += 1
                    receiver._arrived.notify_all()
                ends = time.monotonic() + receiver.limit
                try:
                    if receiver.mode == "stream":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                        while time.monotonic() < ends and not receiver.stopping.is_set():
                            self.wfile.write(CHUNK)
                            receiver._wrote(len(CHUNK))
                    else:
                        answer = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"p" * 1000
                        for byte in answer:
                            receiver.stopping.wait(receiver.interval)
                            if time.monotonic() > ends or receiver.stopping.is_set():
                                break
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            receiver._wrote(1)
                except OSError:
                    pass  # the client hung up: what a deadline is for
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def _wrote(self, count: int) -> None:
        with self._lock:
            self.bytes_written += count


@contextmanager
def bad_receiver(mode: str, limit: float = 6.0) -> Iterator[BadReceiver]:
    receiver = BadReceiver(mode, limit)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        receiver.server.shutdown()
        receiver.server.server_close()
