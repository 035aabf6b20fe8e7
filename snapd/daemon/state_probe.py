"""Whether the daemon can write its ``state_dir`` right now, for ``/readyz``.

A full disk or a read-only remount does not stop the daemon, but every slot would fail
closed (no lock, no intent, no record): the daemon is not ready then, and says why. The
check writes one page to a probe file and removes it, at most once per
:data:`PROBE_SECONDS` (probes come as often as the supervisor likes), so readiness comes
back by itself once there is room again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from snapd.clock import Clock

log = structlog.get_logger("snapd.daemon")

PROBE_SECONDS = 10.0
PROBE_FILE_NAME = ".write-probe"
# One page: less room than that is as good as none for SQLite.
PROBE_BYTES = 4096


def write_probe(directory: Path) -> None:
    """Write :data:`PROBE_BYTES` to a probe file in ``directory``, to the disk, and remove it.

    Raises:
        OSError: the folder cannot be written (``ENOSPC``, ``EROFS``, ``EACCES``, ...).
    """
    path = directory / PROBE_FILE_NAME
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(descriptor, b"\0" * PROBE_BYTES)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
        path.unlink(missing_ok=True)


class StateDirectoryProbe:
    """Answers "can ``state_dir`` be written?" from a write at most ``every`` seconds old.

    ``clock`` is the daemon's clock; ``write`` raises ``OSError`` when the folder cannot be
    written (tests inject a full disk here). Thread-safe. The first failure and the
    recovery after it are logged once each.
    """

    def __init__(
        self,
        state_dir: Path,
        clock: Clock,
        *,
        every: float = PROBE_SECONDS,
        write: Callable[[Path], None] = write_probe,
    ) -> None:
        self._state_dir = Path(state_dir)
        self._clock = clock
        self._every = timedelta(seconds=every)
        self._write = write
        self._lock = threading.Lock()
        self._checked_at: datetime | None = None
        self._problem: str | None = None

    def problem(self) -> str | None:
        """Why ``state_dir`` cannot be written (one line naming the OS error), or None."""
        with self._lock:
            now = self._clock.now()
            if self._checked_at is None or now - self._checked_at >= self._every:
                self._checked_at = now
                self._update(self._check())
            return self._problem

    def _check(self) -> str | None:
        try:
            self._write(self._state_dir)
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            return f"state_dir {self._state_dir} cannot be written: {reason}"
        return None

    def _update(self, problem: str | None) -> None:
        if problem is not None and self._problem is None:
            log.error("state_dir_unwritable", vm=None, detail=problem)
        elif problem is None and self._problem is not None:
            log.info("state_dir_writable", vm=None, state_dir=str(self._state_dir))
        self._problem = problem
