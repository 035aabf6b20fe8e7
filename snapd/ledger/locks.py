"""One operation in flight per virtual machine, across processes and threads.

The scheduler, ``snapd once`` and ``snapd restore`` may all want the same VM at the same
moment, possibly from different processes. Each takes an exclusive ``flock`` on
``state_dir/locks/<vm>.lock`` first. An ``flock`` belongs to the open file description, so
every :meth:`VirtualMachineLocks.hold` opens the file afresh: two threads of one process
then exclude each other exactly as two processes do. The kernel drops the lock when its
holder dies, so a crash never leaves a VM locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from snapd.ledger.vocabulary import OperationKind

__all__ = [
    "DaemonRunningError",
    "LockUnavailableError",
    "StateDirectoryLock",
    "VirtualMachineBusyError",
    "VirtualMachineLocks",
]

LOCKS_DIRECTORY_NAME = "locks"
DAEMON_LOCK_NAME = "daemon.lock"
# The holder's description is small; reading more would only mean a damaged file.
_DESCRIPTION_LIMIT = 1024


class VirtualMachineBusyError(Exception):
    """Another operation holds the VM's lock.

    ``pid``, ``purpose`` and ``since`` describe the holder as it wrote itself down; they
    are ``None`` when it had not written yet or the file could not be read.
    """

    def __init__(
        self,
        virtual_machine_id: int,
        pid: int | None = None,
        purpose: str | None = None,
        since: str | None = None,
    ) -> None:
        self.virtual_machine_id = virtual_machine_id
        self.pid = pid
        self.purpose = purpose
        self.since = since
        holder = ", ".join(
            part
            for part in (
                f"pid {pid}" if pid is not None else None,
                f"since {since}" if since else None,
                purpose,
            )
            if part
        )
        details = f" ({holder})" if holder else ""
        super().__init__(
            f"virtual machine {virtual_machine_id} is busy: "
            f"another snapd operation holds its lock{details}"
        )


class LockUnavailableError(OSError):
    """The VM's lock could not be asked for: its database cannot be reached, or no
    database session came free in time. Nobody is known to hold it; nothing may run."""


class VirtualMachineLocks:
    """Per-VM exclusive locks in ``state_dir/locks``.

    Raises:
        OSError: the locks folder cannot be created (``state_dir`` missing or read-only).
    """

    def __init__(self, state_dir: Path) -> None:
        self._directory = Path(state_dir) / LOCKS_DIRECTORY_NAME
        try:
            self._directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            # mkdir's mode is filtered by the umask; make it exact.
            self._directory.chmod(0o700)

    def close(self) -> None:
        """Release what the locks keep between holds (nothing for files). Idempotent."""
        return None

    def path(self, virtual_machine_id: int) -> Path:
        """The lock file of ``virtual_machine_id``."""
        return self._directory / f"{int(virtual_machine_id)}.lock"

    @contextmanager
    def hold(
        self, virtual_machine_id: int, purpose: OperationKind, now: datetime
    ) -> Iterator[None]:
        """Hold the VM's lock for the ``with`` block; never waits.

        ``purpose`` (e.g. ``snapshot``) and ``now`` are written into the lock file so that
        a refused caller can say who holds it. The lock is released when the block ends,
        also by an exception. Not re-entrant: holding the same VM twice, even in one
        thread, is refused.

        Raises:
            VirtualMachineBusyError: another holder, in this or another process, has it.
            OSError: the lock file cannot be opened.
        """
        descriptor = os.open(
            self.path(virtual_machine_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(virtual_machine_id, descriptor) from None
            _describe_holder(descriptor, purpose, now)
            try:
                yield
            finally:
                # Clear the description before unlocking so that nobody reads a stale one;
                # the file itself stays: removing it would let a waiter lock a dead inode.
                os.ftruncate(descriptor, 0)
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def _describe_holder(descriptor: int, purpose: str, now: datetime) -> None:
    since = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    one_line_purpose = " ".join(purpose.split()) or "unknown"
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()} {one_line_purpose} {since}\n".encode(), 0)


def _busy(virtual_machine_id: int, descriptor: int) -> VirtualMachineBusyError:
    try:
        text = os.pread(descriptor, _DESCRIPTION_LIMIT, 0).decode("utf-8", "replace")
    except OSError:
        text = ""
    # "pid purpose timestamp"; the holder may not have written it yet.
    parts = text.split()
    if len(parts) < 3 or not parts[0].isdigit():
        return VirtualMachineBusyError(virtual_machine_id)
    return VirtualMachineBusyError(
        virtual_machine_id, pid=int(parts[0]), purpose=" ".join(parts[1:-1]), since=parts[-1]
    )


class DaemonRunningError(Exception):
    """Another daemon already serves this state directory; ``pid`` is ``None`` if unknown."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        self.pid = pid
        holder = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            f"another snapd daemon{holder} already runs on state_dir {state_dir}; "
            "one daemon per state directory"
        )


class StateDirectoryLock:
    """The one-daemon-per-``state_dir`` lock: an ``flock`` on ``state_dir/daemon.lock``.

    Two daemons on one ledger would both run catch-up and both schedule every slot. The
    kernel drops the lock when its holder dies, so a crash never blocks the next start.
    """

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = Path(state_dir)
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Take the lock and write this process's pid into it; never waits.

        Raises:
            DaemonRunningError: another daemon holds it.
            OSError: the lock file cannot be opened.
        """
        path = self._state_dir / DAEMON_LOCK_NAME
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(descriptor, _DESCRIPTION_LIMIT, 0).decode("utf-8", "replace").strip()
            os.close(descriptor)
            pid = int(text) if text.isdigit() else None
            raise DaemonRunningError(self._state_dir, pid) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        """Give the lock up (also done by the process's exit). Idempotent."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        os.ftruncate(descriptor, 0)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
