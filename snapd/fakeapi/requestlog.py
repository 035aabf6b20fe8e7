"""The request log: every request the fake received, in arrival order."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it.

    ``path`` is without the query string; ``query`` keeps the last value of each key;
    ``status`` is the status answered, 0 when the connection was dropped without an
    answer; ``at`` is the arrival time on the fake's clock; ``authorized`` tells whether
    the request carried the right bearer token.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: datetime
    authorized: bool


class RequestLog:
    """Thread-safe log. A request is entered when its answer is known, before it is sent,
    so a client that has its answer always finds the request in the log; entries are
    kept in the order of the sequence numbers taken on arrival.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_sequence = 0
        self._entries: list[tuple[int, RecordedRequest]] = []

    def arrive(self) -> int:
        """Take the sequence number of a request that has just arrived."""
        with self._lock:
            sequence = self._next_sequence
            self._next_sequence += 1
            return sequence

    def record(self, sequence: int, request: RecordedRequest) -> None:
        """Enter ``request`` at the place of its arrival ``sequence``."""
        with self._lock:
            bisect.insort(self._entries, (sequence, request), key=lambda entry: entry[0])

    def entries(self) -> list[RecordedRequest]:
        """A copy of the log."""
        with self._lock:
            return [request for _, request in self._entries]

    def clear(self) -> None:
        """Forget every entry (sequence numbers keep counting)."""
        with self._lock:
            self._entries.clear()


def matching(
    requests: list[RecordedRequest], method: str | None, path_suffix: str | None
) -> list[RecordedRequest]:
    """The requests with ``method`` (any case) whose path ends with ``path_suffix``."""
    return [
        request
        for request in requests
        if (method is None or request.method == method.upper())
        and (path_suffix is None or request.path.endswith(path_suffix))
    ]
