"""Which replica of a fleet acts: the holder of a PostgreSQL session-level advisory lock.

:class:`Leadership` keeps a connection of its own. A standby tries
``pg_try_advisory_lock`` every ``retry_seconds``; the leader runs ``SELECT 1`` every
``check_seconds`` (with a statement timeout) to prove its session alive. A leader whose
session fails, or that has not proved it for ``confirm_seconds`` (a hung network), is a
leader no more at once: :meth:`is_leader` turns False, so the daemon's runs stop before
sending, and the lock is tried again. A session that answers again after such a stall
still holds the lock: the lead is reported regained (``on_change(True)``), as if won, so
that what the stall interrupted is resumed at once. The server frees the lock when the
session ends: at once when the process dies, within the keepalive bound
(:data:`~snapd.ledger.advisory.SESSION_END_BOUND_SECONDS`) when its host dies or is cut off.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import structlog

from snapd.clock import Clock, SystemClock
from snapd.ledger.advisory import (
    INTENT_NAMESPACE,
    LEADERSHIP_NAMESPACE,
    ConnectionSettings,
    describe_key,
    fleet_key,
)
from snapd.ledger.postgres import connect, one_line
from snapd.ledger.records import LedgerError

log = structlog.get_logger("snapd.leadership")

RETRY_SECONDS = 2.0
CHECK_SECONDS = 1.0
#: The leader stops acting when its session was last proved alive longer ago than this;
#: well inside the keepalive bound after which the server frees the lock for another.
CONFIRM_SECONDS = 5.0


def _ignore(_: bool) -> None:
    return None


class Leadership:
    """This replica's claim on its fleet's leadership; thread-safe; start, then stop."""

    def __init__(
        self,
        settings: ConnectionSettings,
        fleet: str,
        *,
        retry_seconds: float = RETRY_SECONDS,
        check_seconds: float = CHECK_SECONDS,
        confirm_seconds: float = CONFIRM_SECONDS,
        on_change: Callable[[bool], None] = _ignore,
        on_error: Callable[[], None] = lambda: None,
        clock: Clock | None = None,
    ) -> None:
        self.fleet = fleet
        self._clock = clock or SystemClock()
        self._key = fleet_key(fleet)
        self.lock_key = describe_key(LEADERSHIP_NAMESPACE, self._key)
        self._settings = settings
        self._retry = retry_seconds
        self._check = check_seconds
        self._confirm = confirm_seconds
        self.on_change = on_change
        self.on_error = on_error
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._connection: psycopg.Connection[Any] | None = None
        self._pid: int | None = None
        self._confirmed = 0.0
        self._thread: threading.Thread | None = None
        self._unreachable = False

    @property
    def fleet_key(self) -> int:
        return self._key

    def holder_pid(self) -> int | None:
        """The backend pid of the leadership session while leading, else None."""
        with self._lock:
            return self._pid

    def is_leader(self) -> bool:
        """True while the lock is held and the session was proved alive recently."""
        with self._lock:
            return (
                self._pid is not None and self._clock.monotonic() - self._confirmed < self._confirm
            )

    def standby_reason(self) -> str:
        """Why this replica stands by, for /readyz: ``standby: ...``."""
        if self._unreachable:
            return f"standby: the ledger database cannot be reached (fleet {self.fleet})"
        return f"standby: another replica leads fleet {self.fleet}"

    def start(self) -> None:
        """Try once now (so a lone replica leads from its first second), then keep trying
        and checking in a background thread."""
        self._step()
        self._thread = threading.Thread(target=self._loop, name="leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop trying and give the lock up (closing the session). Idempotent."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self._check + 5.0)
        self._lose("stopping", report=False)

    def _loop(self) -> None:
        while not self._clock.wait(
            self._stopped, self._check if self.holder_pid() else self._retry
        ):
            self._step()

    def _step(self) -> None:
        """One round: try for the lock, or prove the session alive. Never raises: a
        failure gives the lead up (the lock goes with the session) and the next round
        tries again."""
        try:
            if self.holder_pid() is None:
                self._try_acquire()
            else:
                self._prove_alive()
        except (psycopg.Error, LedgerError) as error:
            self.on_error()
            if self.holder_pid() is not None:
                self._lose(one_line(error))
            else:
                self._drop_connection()
                if not self._unreachable:
                    log.warning("leadership_database_unreachable", error=one_line(error))
                self._unreachable = True
        except Exception:
            # A listener failed on taking the lead (e.g. scheduling the resumed runs):
            # give the lead up rather than hold a lock without acting on it.
            log.exception("leadership_step_failed", fleet=self.fleet, lock_key=self.lock_key)
            self._lose("the daemon could not take the lead")

    def _try_acquire(self) -> None:
        if self._connection is None:
            self._connection = connect(self._settings, self._check + 1.0)
        connection = self._connection
        row = connection.execute(
            "SELECT pg_try_advisory_lock(%s, %s), pg_backend_pid()",
            (LEADERSHIP_NAMESPACE, self._key),
        ).fetchone()
        self._unreachable = False
        if row is None or not row[0]:
            return
        # Wait out any intent an old leader is writing at this moment: after this, its
        # fence check can only fail, and what it committed is visible to this replica.
        with connection.transaction():
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (INTENT_NAMESPACE, self._key)
            )
        with self._lock:
            self._pid = int(row[1])
            self._confirmed = self._clock.monotonic()
        log.info(
            "leadership_acquired", fleet=self.fleet, lock_key=self.lock_key, backend_pid=row[1]
        )
        self.on_change(True)

    def _prove_alive(self) -> None:
        """Prove the session alive; after a stall longer than ``confirm_seconds`` (the
        database or the network hung, and this replica stopped acting meanwhile) report
        the lead regained, so that the daemon resumes what the stall interrupted."""
        assert self._connection is not None
        self._connection.execute("SELECT 1").fetchone()
        with self._lock:
            stalled = self._clock.monotonic() - self._confirmed
            self._confirmed = self._clock.monotonic()
        if stalled >= self._confirm:
            log.warning(
                "leadership_regained",
                fleet=self.fleet,
                lock_key=self.lock_key,
                stalled_seconds=round(stalled, 1),
            )
            self.on_change(True)

    def _lose(self, reason: str, *, report: bool = True) -> None:
        with self._lock:
            was_leader, self._pid = self._pid is not None, None
        self._drop_connection()
        if was_leader and report:
            log.warning("leadership_lost", fleet=self.fleet, lock_key=self.lock_key, reason=reason)
            try:
                self.on_change(False)
            except Exception:
                log.exception("leadership_listener_failed", fleet=self.fleet)
        elif was_leader:
            log.info("leadership_released", fleet=self.fleet, lock_key=self.lock_key)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()
