"""The HTTP endpoint: /metrics for Prometheus, /healthz and /readyz for supervisors, and
/status (the daemon's view of the fleet as JSON) for ``snapd status``."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from snapd.metrics.collectors import Metrics

__all__ = ["MetricsServer", "MetricsServerError", "Readiness"]

#: Returns (ready, reason); the reason says why not, e.g. "the API refused the token".
Readiness = Callable[[], tuple[bool, str]]
#: Returns the /status document, JSON-serialisable.
StatusView = Callable[[], Any]

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"


class MetricsServerError(Exception):
    """The endpoint could not listen; the message is one line naming the address."""


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        metrics: Metrics,
        ready: Readiness,
        status: StatusView | None,
        live: Readiness | None = None,
    ) -> None:
        # An IPv6 literal needs an IPv6 socket; the class attribute is read by bind.
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.metrics = metrics
        self.ready = ready
        self.status = status
        self.live = live
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "snapd"
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections would otherwise hold a thread each forever.
    timeout = 30

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        # Every scrape would otherwise print a line on stderr; the daemon's own log
        # lines are the record.
        return None

    def _answer(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = self.server.metrics.exposition()
            except Exception:  # a broken collector must not take the endpoint down
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _TEXT, b"metrics failed\n", send_body)
                return
            self._send(HTTPStatus.OK, CONTENT_TYPE_PLAIN_0_0_4, body, send_body)
        elif path == "/status" and self.server.status is not None:
            try:
                body = json.dumps(self.server.status(), separators=(",", ":")).encode()
            except Exception:  # the view must not take the endpoint down either
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _TEXT, b"status failed\n", send_body)
                return
            self._send(HTTPStatus.OK, _JSON, body, send_body)
        elif path == "/healthz":
            alive, reason = self._liveness()
            if alive:
                self._send(HTTPStatus.OK, _TEXT, b"ok\n", send_body)
            else:
                line = f"not healthy: {reason}\n".encode()
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, line, send_body)
        elif path == "/readyz":
            ready, reason = self._readiness()
            if ready:
                # The role among replicas rides along: "ready: leader", "standby: ...".
                role = reason if reason.startswith(("ready", "standby")) else "ready"
                self._send(HTTPStatus.OK, _TEXT, f"{role}\n".encode(), send_body)
            else:
                line = f"not ready: {reason}\n".encode()
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, line, send_body)
        else:
            self._send(HTTPStatus.NOT_FOUND, _TEXT, b"not found\n", send_body)

    def _liveness(self) -> tuple[bool, str]:
        if self.server.live is None:
            return True, "ok"
        try:
            alive, reason = self.server.live()
        except Exception:
            return False, "the health check failed"
        return alive, " ".join(reason.split()) or "no reason given"

    def _readiness(self) -> tuple[bool, str]:
        try:
            ready, reason = self.server.ready()
        except Exception:
            return False, "the readiness check failed"
        # The reason is one line: the status line of a probe, not a report.
        return ready, " ".join(reason.split()) or "no reason given"

    def _send(self, status: HTTPStatus, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class MetricsServer:
    """Serves ``metrics`` over HTTP in a background thread.

    Routes (GET and HEAD): ``/metrics`` is the Prometheus text format 0.0.4;
    ``/healthz`` answers 200 ``ok`` while ``live()`` says so (always, without one), else
    503 and ``not healthy: <reason>`` (a wedged daemon: liveness probes restart it);
    ``/readyz`` answers 200 ``ready`` when ``ready()`` says so (or its reason when that
    starts with ``ready`` or ``standby``: a replica's role), otherwise 503 and
    ``not ready: <reason>``; ``/status`` is the JSON from ``status()`` when one is
    given; anything else is 404. No per-request log lines.

    Args:
        metrics: what /metrics exposes.
        host: the address to bind; an IPv6 literal is given without brackets.
        port: the port to bind; 0 picks a free one (see ``port`` after ``start``).
        ready: called on every /readyz; returns (ready, reason). An exception counts as
            not ready.
        status: called on every /status; None leaves /status out (404).
        live: called on every /healthz; returns (alive, reason). An exception counts as
            not alive; None: alive whenever the process serves.
    """

    def __init__(
        self,
        metrics: Metrics,
        host: str,
        port: int,
        ready: Readiness,
        status: StatusView | None = None,
        live: Readiness | None = None,
    ) -> None:
        self.metrics = metrics
        self.host = host
        self._requested_port = port
        self.ready = ready
        self.status = status
        self.live = live
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and start serving.

        Raises:
            MetricsServerError: the address cannot be bound, e.g.
                ``cannot listen on 127.0.0.1:9891: address already in use``.
            RuntimeError: already started.
        """
        if self._server is not None:
            raise RuntimeError("the metrics server is already running")
        address = _display(self.host, self._requested_port)
        try:
            server = _Server(
                (self.host, self._requested_port), self.metrics, self.ready, self.status, self.live
            )
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise MetricsServerError(
                f"cannot listen on {address}: {reason[:1].lower()}{reason[1:]}"
            ) from None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="snapd-metrics",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port once started (useful with port 0), else the requested one."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, with an IPv6 host in brackets."""
        return f"http://{_display(self.host, self.port)}"

    def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
