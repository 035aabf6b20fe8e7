"""One operation per virtual machine at a time, whoever asks."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

import snapd
from snapd.ledger.locks import VirtualMachineBusyError, VirtualMachineLocks

NOW = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
MACHINE = 1268054

HOLDER_SCRIPT = """
import sys
from datetime import datetime, UTC
from pathlib import Path
from snapd.ledger.locks import VirtualMachineLocks

locks = VirtualMachineLocks(Path(sys.argv[1]))
with locks.hold(int(sys.argv[2]), "restore", datetime(2025, 1, 1, 3, 0, tzinfo=UTC)):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def start_holder(state_dir: Path) -> subprocess.Popen[str]:
    """A separate process that holds MACHINE's lock until told to stop."""
    environment = {**os.environ, "PYTHONPATH": str(Path(snapd.__file__).parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(state_dir), str(MACHINE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_holder_of_a_busy_virtual_machine_is_told_who_holds_it(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)

    with (
        locks.hold(MACHINE, "snapshot", NOW),
        pytest.raises(VirtualMachineBusyError) as raised,
        locks.hold(MACHINE, "restore", NOW),
    ):
        pass

    error = raised.value
    assert str(error) == (
        f"virtual machine {MACHINE} is busy: another snapd operation holds its lock "
        f"(pid {os.getpid()}, since 2025-01-01T03:00:00Z, snapshot)"
    )
    assert (error.virtual_machine_id, error.pid, error.purpose) == (
        MACHINE,
        os.getpid(),
        "snapshot",
    )


def test_the_lock_is_released_when_the_block_ends(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)

    with locks.hold(MACHINE, "snapshot", NOW):
        pass
    with locks.hold(MACHINE, "snapshot", NOW):
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)

    with pytest.raises(RuntimeError), locks.hold(MACHINE, "snapshot", NOW):
        raise RuntimeError("the API fell over")

    with locks.hold(MACHINE, "snapshot", NOW):
        pass


def test_different_virtual_machines_do_not_block_each_other(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)

    with locks.hold(MACHINE, "snapshot", NOW), locks.hold(MACHINE + 1, "snapshot", NOW):
        pass


def test_two_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)
    holding = threading.Event()
    finish = threading.Event()

    def hold_until_told() -> None:
        with locks.hold(MACHINE, "scheduled snapshot", NOW):
            holding.set()
            finish.wait(10)

    holder = threading.Thread(target=hold_until_told)
    holder.start()
    try:
        assert holding.wait(10)
        with (
            pytest.raises(VirtualMachineBusyError, match="scheduled snapshot"),
            locks.hold(MACHINE, "once", NOW),
        ):
            pass
    finally:
        finish.set()
        holder.join(10)

    with locks.hold(MACHINE, "once", NOW):
        pass


def test_a_second_process_cannot_take_the_lock_of_a_busy_virtual_machine(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(VirtualMachineBusyError) as raised, locks.hold(MACHINE, "snapshot", NOW):
            pass
        assert raised.value.pid == holder.pid
        assert raised.value.purpose == "restore"
        assert f"(pid {holder.pid}, since 2025-01-01T03:00:00Z, restore)" in str(raised.value)

        holder.communicate("\n", timeout=30)
    finally:
        holder.kill()
        holder.wait()

    with locks.hold(MACHINE, "snapshot", NOW):
        pass


def test_a_lock_holder_that_dies_leaves_the_virtual_machine_free(tmp_path: Path) -> None:
    locks = VirtualMachineLocks(tmp_path)
    holder = start_holder(tmp_path)

    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)

    with locks.hold(MACHINE, "snapshot", NOW):
        pass


def test_a_holder_that_has_not_described_itself_yet_is_still_reported_busy(
    tmp_path: Path,
) -> None:
    locks = VirtualMachineLocks(tmp_path)
    descriptor = os.open(locks.path(MACHINE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with pytest.raises(VirtualMachineBusyError) as raised, locks.hold(MACHINE, "snapshot", NOW):
            pass
    finally:
        os.close(descriptor)

    assert str(raised.value) == (
        f"virtual machine {MACHINE} is busy: another snapd operation holds its lock"
    )
    assert raised.value.pid is None


def test_lock_files_live_in_a_private_locks_folder(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        locks = VirtualMachineLocks(tmp_path)
        with locks.hold(MACHINE, "snapshot", NOW):
            description = (tmp_path / "locks" / f"{MACHINE}.lock").read_text()
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o700
    assert stat.S_IMODE(locks.path(MACHINE).stat().st_mode) == 0o600
    assert description == f"{os.getpid()} snapshot 2025-01-01T03:00:00Z\n"
    # A released lock leaves no stale description behind.
    assert locks.path(MACHINE).read_text() == ""
    VirtualMachineLocks(tmp_path)  # an existing folder is fine
