"""Opening the ledger file: checks on the state directory, file mode, SQLite settings.

The daemon and the CLI (``snapd once``, ``snapd hold``, ``snapd status``) open the same
file at the same time. WAL mode lets readers run beside a writer, and the busy timeout
makes a writer wait for another instead of failing. Opening it for reading only (no
writes, no migration) is :mod:`snapd.ledger.read_only`.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

from snapd.ledger.records import LedgerError
from snapd.ledger.schema import migrate

LEDGER_FILE_NAME = "ledger.sqlite3"
BUSY_TIMEOUT = timedelta(seconds=10)
# Less room than this on the file system is as good as none: SQLite's shared-memory
# file alone takes 32 KiB.
_ROOM_NEEDED = 64 * 1024


def open_database(state_dir: Path) -> tuple[sqlite3.Connection, Path]:
    """Open (creating if needed) ``state_dir/ledger.sqlite3`` with an up-to-date schema.

    Returns the connection, in autocommit mode and usable from any thread (the caller
    serialises its use), and the file's path. A new file gets mode 0600 whatever the umask.

    A missing ``state_dir`` whose parent exists is created with mode 0700. A new ledger
    appears whole (made under another name, then linked into place), so an empty file is
    never a new ledger: it is a damaged one, and refused.

    Raises:
        LedgerError: ``state_dir`` cannot be created, is not a directory or not writable;
            the file is empty, not a snapd ledger or was written by a newer snapd; SQLite
            cannot open it.
    """
    _check_state_dir(state_dir)
    path = state_dir / LEDGER_FILE_NAME
    _create_ledger(path, state_dir)
    try:
        connection = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT.total_seconds(),
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as error:
        raise LedgerError(f"ledger {path} cannot be opened: {error}") from None
    try:
        milliseconds = int(BUSY_TIMEOUT.total_seconds() * 1000)
        connection.execute(f"PRAGMA busy_timeout = {milliseconds}")
        connection.execute("PRAGMA journal_mode = WAL")
        # The migration takes the write lock even when there is nothing to migrate: that
        # proves now, not at the first attempt hours later, that the file is writable.
        migrate(connection, path)
    except LedgerError:
        connection.close()
        raise
    except sqlite3.Error as error:
        connection.close()
        if "not a database" in str(error):
            raise LedgerError(f"ledger {path} is not a snapd ledger ({error})") from None
        raise LedgerError(f"ledger {path} cannot be opened: {error}{_full(state_dir)}") from None
    return connection, path


def _full(state_dir: Path) -> str:
    """``" (No space left on device)"`` when ``state_dir``'s file system is full, else "".

    SQLite reports a full disk met while creating its shared-memory file as a mere "disk
    I/O error"; this names the cause the operator must act on.
    """
    try:
        status = os.statvfs(state_dir)
    except OSError:
        return ""
    if status.f_bavail * status.f_frsize >= _ROOM_NEEDED:
        return ""
    return f" ({os.strerror(errno.ENOSPC)})"


def can_write(state_dir: Path) -> bool:
    """Whether this process could open the ledger of ``state_dir`` for writing: the folder
    (or, when it is missing, its parent) and an existing ledger file are writable."""
    path = state_dir / LEDGER_FILE_NAME
    try:
        if not state_dir.exists():
            return os.access(state_dir.parent, os.W_OK | os.X_OK)
        if not os.access(state_dir, os.W_OK | os.X_OK):
            return False
        return not path.exists() or os.access(path, os.W_OK)
    except (OSError, ValueError):
        return False


def _check_state_dir(state_dir: Path) -> None:
    try:
        mode = state_dir.stat().st_mode
    except FileNotFoundError:
        _create_state_dir(state_dir)
        mode = state_dir.stat().st_mode
    except NotADirectoryError:
        raise LedgerError(f"state directory {state_dir} does not exist") from None
    except OSError as error:
        raise LedgerError(f"state directory {state_dir} cannot be read: {error.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise LedgerError(f"state directory {state_dir} is not a directory")
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise LedgerError(f"state directory {state_dir} is not writable")


def _create_state_dir(state_dir: Path) -> None:
    """Create ``state_dir`` with mode 0700; its parent must exist.

    Only the last folder is made: a missing parent more likely means a typo in the policy
    than a wish for a new tree, and ``config validate`` has said so already.
    """
    try:
        state_dir.mkdir(mode=0o700)
    except FileExistsError:
        return  # another process made it first
    except FileNotFoundError:
        raise LedgerError(
            f"state directory {state_dir} does not exist, "
            f"and neither does its parent {state_dir.parent}"
        ) from None
    except OSError as error:
        raise LedgerError(
            f"state directory {state_dir} cannot be created: {error.strerror}"
        ) from None
    # mkdir's mode is filtered by the umask; the ledger holds nothing for other users.
    state_dir.chmod(0o700)


def _create_ledger(path: Path, state_dir: Path) -> None:
    """Make a new, migrated ledger at ``path`` unless one exists; refuse an empty one.

    The new ledger is made under a name of this process's, with mode 0600 whatever the
    umask (the journal files SQLite makes copy it), then linked into place: no other
    process ever sees it half made, and of two processes starting at once, one link wins
    and the other opens it.

    Raises:
        LedgerError: the existing file is empty; ``state_dir`` cannot be written.
    """
    try:
        if path.stat().st_size == 0:
            raise LedgerError(
                f"ledger {path} is empty (0 bytes): not a snapd ledger, probably truncated; "
                "restore it from a backup, or move it away to start with an empty history"
            )
        return
    except FileNotFoundError:
        pass
    new = state_dir / f".{LEDGER_FILE_NAME}.{os.getpid()}.new"
    _create_private_file(new, state_dir)
    try:
        try:
            connection = sqlite3.connect(new, isolation_level=None)
            try:
                migrate(connection, new)
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise LedgerError(
                f"ledger {path} cannot be created: {error}{_full(state_dir)}"
            ) from None
        try:
            os.link(new, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as error:
            raise LedgerError(f"ledger {path} cannot be created: {error.strerror}") from None
    finally:
        new.unlink(missing_ok=True)


def _create_private_file(path: Path, state_dir: Path) -> None:
    """Create ``path`` empty with mode 0600, replacing a leftover of an earlier crash."""
    try:
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except PermissionError:
        raise LedgerError(f"state directory {state_dir} is not writable") from None
    except OSError as error:
        raise LedgerError(f"ledger {path} cannot be created: {error.strerror}") from None
    try:
        # The umask may have taken bits away, never added them; set the mode exactly.
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
