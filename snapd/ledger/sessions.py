"""A small, bounded set of PostgreSQL sessions shared by many threads.

The per-VM locks of a daemon with hundreds of VMs in flight must not cost a database
session each: PostgreSQL's ``max_connections`` (100 by default) is shared by every client
of the server. A :class:`SessionPool` opens at most ``size`` sessions, lazily, and lends
one to a caller for one short statement or transaction; a caller that finds none free
waits up to ``wait_seconds`` and then gets ``LedgerError`` (fail closed, never a new
session). A session that broke is closed and replaced at the next loan, and one idle for
over a second is asked ``SELECT 1`` first, so one the server ended meanwhile is replaced
instead of failing the caller.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from snapd.clock import Clock, SystemClock
from snapd.config.masking import mask_url
from snapd.ledger.advisory import ConnectionSettings
from snapd.ledger.postgres import IDLE_CHECK_SECONDS, connect, one_line
from snapd.ledger.records import LedgerError


class SessionPool:
    """At most ``size`` autocommit sessions to one database; thread-safe; close at the end."""

    def __init__(
        self,
        settings: ConnectionSettings,
        size: int,
        *,
        statement_timeout_seconds: float,
        wait_seconds: float,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` (default: the system's) times the wait for a free session and how
        long a session was idle."""
        if size < 1:
            raise ValueError(f"a session pool needs at least one session, got {size}")
        self._settings = settings
        self._size = size
        self._statement_timeout = statement_timeout_seconds
        self._wait = wait_seconds
        self._clock = clock or SystemClock()
        self._free: list[tuple[psycopg.Connection[Any], float]] = []  # and idle since
        self._opened = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def size(self) -> int:
        """The most sessions this pool ever holds at once."""
        return self._size

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """Lend a session for the block; raise ``LedgerError`` when none is free in time,
        the database cannot be reached, or a statement of the block fails."""
        connection = self._borrow()
        try:
            yield connection
        except psycopg.Error as error:
            self._give_back(connection)
            raise LedgerError(f"ledger {self._location()}: {one_line(error)}") from None
        except BaseException:
            self._give_back(connection)
            raise
        self._give_back(connection)

    def close(self) -> None:
        """Close the free sessions now and the lent ones when they come back. Idempotent."""
        with self._changed:
            self._closed = True
            free, self._free = self._free, []
            self._opened -= len(free)
            self._changed.notify_all()
        for connection, _ in free:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _borrow(self) -> psycopg.Connection[Any]:
        with self._changed:
            ready = self._wait_for_a_session()
            if self._closed:
                raise LedgerError(f"ledger {self._location()} is closed")
            if not ready:
                raise LedgerError(
                    f"ledger {self._location()}: all {self._size} database "
                    f"session(s) of the VM locks stayed busy for {self._wait:g} s"
                )
            reused = self._free.pop() if self._free else None
            if reused is None:
                self._opened += 1  # reserved before connecting, so the bound holds
        if reused is not None:
            connection, idle_since = reused
            if self._clock.monotonic() - idle_since < IDLE_CHECK_SECONDS or _answers(connection):
                return connection
            # Ended by the server meanwhile (a restart, idle_session_timeout): replace it,
            # still within the bound, instead of failing the caller's statement.
        try:
            return connect(self._settings, self._statement_timeout)
        except BaseException:
            with self._changed:
                self._opened -= 1
                self._changed.notify()
            raise

    def _location(self) -> str:
        """The DSN as messages show it: masked, but with its user (no secret)."""
        return mask_url(self._settings.dsn, keep_user=True)

    def _wait_for_a_session(self) -> bool:
        """Wait (holding ``_changed``) until the pool is closed, a session is free or one
        may be opened, at most ``wait_seconds``; True if that happened in time."""
        deadline = self._clock.monotonic() + self._wait
        while not (self._closed or self._free or self._opened < self._size):
            left = deadline - self._clock.monotonic()
            if left <= 0:
                return False
            self._clock.wait(self._changed, left)
        return True

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        usable = not (connection.closed or connection.broken)
        with self._changed:
            if usable and not self._closed:
                self._free.append((connection, self._clock.monotonic()))
                connection = None  # type: ignore[assignment]
            else:
                self._opened -= 1
            self._changed.notify()
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()


def _answers(connection: psycopg.Connection[Any]) -> bool:
    """True when an idle session still answers; otherwise it is closed."""
    try:
        connection.execute("SELECT 1")
    except psycopg.Error:
        with contextlib.suppress(psycopg.Error):
            connection.close()
        return False
    return True
