"""Opening the ledger file: checks on the state directory, file mode, SQLite settings.

The daemon and the CLI (``snapd once``, ``snapd hold``, ``snapd status``) open the same
file at the same time. WAL mode lets readers run beside a writer, and the busy timeout
makes a writer wait for another instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

from snapd.ledger.records import LedgerError
from snapd.ledger.schema import migrate

LEDGER_FILE_NAME = "ledger.sqlite3"
BUSY_TIMEOUT = timedelta(seconds=10)


def open_database(state_dir: Path) -> tuple[sqlite3.Connection, Path]:
    """Open (creating if needed) ``state_dir/ledger.sqlite3`` with an up-to-date schema.

    Returns the connection, in autocommit mode and usable from any thread (the caller
    serialises its use), and the file's path. A new file gets mode 0600 whatever the umask.

    A missing ``state_dir`` whose parent exists is created with mode 0700.

    Raises:
        LedgerError: ``state_dir`` cannot be created, is not a directory or not writable;
            the file is not a snapd ledger or was written by a newer snapd; SQLite cannot
            open it.
    """
    _check_state_dir(state_dir)
    path = state_dir / LEDGER_FILE_NAME
    _create_private_file(path, state_dir)
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
        raise LedgerError(f"ledger {path} cannot be opened: {error}") from None
    return connection, path


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


def _create_private_file(path: Path, state_dir: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; SQLite accepts an empty file.

    Creating it here rather than letting SQLite do it leaves no moment in which the
    ledger is readable by others, and the journal files SQLite makes copy its mode.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    except PermissionError:
        raise LedgerError(f"state directory {state_dir} is not writable") from None
    except OSError as error:
        raise LedgerError(f"ledger {path} cannot be created: {error.strerror}") from None
    try:
        # The umask may have taken bits away, never added them; set the mode exactly.
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
