"""A local HTTP receiver on port 0 that records what notifications arrive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Stands for the secret part of a notification URL; it must never reach a log line.
SECRET = "c0ffee-4a1f-secret"


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # with the query
    body: str
    content_type: str


class Receiver:
    """Records every request; answers ``statuses[path]`` (default ``status``) or, while
    ``hang`` is set, never answers."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.statuses: dict[str, int] = {}
        self.hang = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with receiver._arrived:
                    receiver.received.append(
                        Received("POST", self.path, body, self.headers.get("Content-Type", ""))
                    )
                    receiver._arrived.notify_all()
                if receiver.hang.is_set():
                    receiver.release.wait(30)
                    return
                self.send_response(receiver.statuses.get(self.path, receiver.status))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        with self._lock:
            return [item.path for item in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """At least ``count`` requests (fail after ``timeout``)."""
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                return list(self.received)
        raise AssertionError(f"expected {count} notifications, got {self.paths()}")


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1, port 0, for the duration of the block."""
    running = Receiver()
    running.thread.start()
    try:
        yield running
    finally:
        running.release.set()
        running.server.shutdown()
        running.server.server_close()
