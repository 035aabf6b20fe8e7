"""The server's clock as seen through the ``Date`` header of its answers.

Timestamps in the API's answers (an action's ``created_at``) are written by the server's
clock, which may be minutes off the host's. Matching "the action my ambiguous create
made" against the local clock would then fail or, worse, match the wrong action; the
offset kept here lets the caller translate a local instant into server time instead.

``Date`` has one-second resolution and is truncated, not rounded, so a single reading is
up to one second behind the true server time (plus the network delay of the answer).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["ServerClock", "parse_http_date"]


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Sun, 01 Jun 2025 03:00:00 GMT``) as aware UTC; ``None`` if unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


class ServerClock:
    """The latest known offset ``server time - local time``, in seconds. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset: float | None = None

    def observe(self, headers: Mapping[str, str], received_at: float) -> None:
        """Record the offset from an answer's ``Date`` header, received at ``received_at``
        (local Unix time). An answer without a readable ``Date`` changes nothing."""
        server_time = parse_http_date(headers.get("Date"))
        if server_time is None:
            return
        with self._lock:
            self._offset = server_time.timestamp() - received_at

    def offset(self) -> float | None:
        """Seconds to add to local time to get server time; ``None`` before any ``Date``."""
        with self._lock:
            return self._offset

    def server_now(self, local_now: datetime) -> datetime:
        """``local_now`` shifted by the latest offset; unchanged when none is known."""
        offset = self.offset()
        if offset is None:
            return local_now
        return local_now + timedelta(seconds=offset)
