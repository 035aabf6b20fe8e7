"""A proxy between snapd and the fake API that rewrites chosen answers.

The fake answers as the API documents; a probe needs answers it does not give (a busy
409 on demand, a 200 whose body is an error message). The proxy forwards every request
to the fake unchanged and returns the fake's answer, except for requests matching a
:class:`Rewrite`: those get the rule's status and JSON body instead. A rule either
answers in the fake's place (``forward=False``: the request never reaches the fake, as
with a refused create) or forwards first and replaces the answer. Every rewrite is
logged in :attr:`RewritingProxy.rewritten`, so tests can assert what snapd was told.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Hop-by-hop headers, and the length the proxy sets itself.
_NOT_COPIED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Rewrite:
    """Answer ``status`` and ``body`` to requests with ``method`` whose path ends with a
    match of the regular expression ``path_end`` (``/snapshot``, ``/actions/\\d+``): after
    letting ``skip`` of them through, the next ``times`` of them (``None``: all).
    ``then(number)`` runs before the ``number``-th rewritten answer leaves (from 1): what
    happens "while snapd waits"."""

    method: str
    path_end: str
    status: int
    body: Any
    times: int | None = 1
    skip: int = 0
    forward: bool = False
    then: Callable[[int], None] | None = None
    matched: int = 0
    used: int = 0

    def applies(self, method: str, path: str) -> bool:
        """Count a matching request; True when this one is to be rewritten."""
        if method != self.method or not re.search(f"(?:{self.path_end})$", path):
            return False
        self.matched += 1
        if self.matched <= self.skip or (self.times is not None and self.used >= self.times):
            return False
        self.used += 1
        return True


@dataclass(frozen=True)
class Rewritten:
    """One rewritten answer: the request, the status given, whether the fake saw it."""

    method: str
    path: str
    status: int
    forwarded: bool


class RewritingProxy:
    """The proxy; ``base_url`` is what snapd is pointed at. Thread-safe."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rewrite] = []
        self.rewritten: list[Rewritten] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def rewrite(self, rule: Rewrite) -> Rewrite:
        """Add ``rule`` (rules are tried in the order added) and return it."""
        with self.lock:
            self.rules.append(rule)
        return rule

    def rule_for(self, method: str, path: str) -> Rewrite | None:
        with self.lock:
            return next((rule for rule in self.rules if rule.applies(method, path)), None)

    def forward(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The fake's answer to the request: status, headers, body."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            connection.request(method, target, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _handler(proxy: RewritingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_COPIED}
            path = urlsplit(self.path).path
            rule = proxy.rule_for(self.command, path)
            answer: tuple[int, list[tuple[str, str]], bytes] = (0, [], b"")
            if rule is None or rule.forward:
                answer = proxy.forward(self.command, self.path, headers, body)
            if rule is not None:
                with proxy.lock:
                    proxy.rewritten.append(Rewritten(self.command, path, rule.status, rule.forward))
                if rule.then is not None:
                    rule.then(rule.used)
                content = json.dumps(rule.body).encode()
                answer = (rule.status, [("Content-Type", "application/json")], content)
            self._answer(*answer)

        def _answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
            # The fake's own Date header goes through (snapd reads the server's clock off
            # it), so not send_response, which would add the proxy's.
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() not in _NOT_COPIED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = do_PUT = _relay

        def log_message(self, format: str, *arguments: Any) -> None:
            return None

    return Handler


@contextmanager
def rewriting_proxy(upstream: str) -> Iterator[RewritingProxy]:
    """A running proxy in front of ``upstream`` (the fake's base URL); stopped afterwards."""
    proxy = RewritingProxy(upstream)
    proxy.thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        proxy.thread.join()
