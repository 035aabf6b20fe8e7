"""snapd on a really full disk: a tiny tmpfs as ``state_dir``, filled up.

``snapd once`` exits non-zero with one line naming the error; the daemon's ``/readyz``
says 503 and why while there is no room, and 200 again once there is.

Needs root (to mount); CI runs as root and runs it. Elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.state_probe import PROBE_SECONDS
from snapd.fakeapi import FakeHostinger
from snapd.ledger import SqliteLedger
from snapd.ledger.locks import VirtualMachineLocks
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN

TMPFS_SIZE = "1m"


def _cannot(reason: str) -> None:
    """Skip, except in CI, where the test must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must be able to run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted on a fresh folder; unmounted afterwards."""
    mount_point = tmp_path / "state"
    mount_point.mkdir(mode=0o700)
    if os.geteuid() != 0:
        _cannot("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        _cannot(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def fill(folder: Path) -> None:
    """Write a file into ``folder`` until its filesystem has no space left."""
    chunk = b"\0" * 4096
    with suppress(OSError), (folder / "filler").open("wb", buffering=0) as filler:
        while True:
            filler.write(chunk)
    probe = folder / "probe"
    with pytest.raises(OSError) as caught, probe.open("wb", buffering=0) as file:
        file.write(chunk)
    assert caught.value.errno == errno.ENOSPC


@pytest.mark.parametrize(
    ("daemon_running", "error"),
    [
        # Alone, the ledger's shared-memory file cannot be made: the ledger does not open.
        (False, "cannot be opened: disk I/O error (No space left on device)"),
        # Beside a daemon (its ledger files exist), the VM's lock file is what cannot be
        # written: the slot fails closed.
        (True, "the VM's lock file could not be written: No space left on device"),
    ],
)
def test_once_on_a_full_disk_exits_non_zero_with_a_one_line_error_and_sends_nothing(
    tiny_disk: Path, tmp_path: Path, daemon_running: bool, error: str
) -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=1.0, seed=3) as fake:
        vm = fake.vm_ids[0]
        policy = tmp_path / "config.yaml"
        policy.write_text(
            f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
            f'vms: [{{id: {vm}, schedule: "0 3 * * *"}}]\n'
            f"state_dir: {tiny_disk}\nlog: {{format: json}}\n"
        )
        ledger = SqliteLedger.open(tiny_disk)  # an existing state_dir, as after earlier runs
        VirtualMachineLocks(tiny_disk)
        if not daemon_running:
            ledger.close()
        fill(tiny_disk)

        ran = subprocess.run(
            [sys.executable, "-m", "snapd.cli", "once", "-c", str(policy), str(vm)],
            capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
            env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        )  # fmt: skip
        ledger.close()

    output = ran.stdout + ran.stderr
    assert ran.returncode in (1, 2), output
    assert "Traceback" not in output
    assert error in output, output
    assert "cannot rollback" not in output
    assert fake.count("POST") == 0


def readyz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
            return answer.status, answer.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip()


def wait_for_readyz(url: str, status: int) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answered, body = readyz(url)
        if answered == status:
            return body
        time.sleep(0.02)
    raise AssertionError(f"/readyz never answered {status}")


def test_the_daemon_is_not_ready_while_state_dir_is_full_and_ready_again_once_there_is_room(
    tiny_disk: Path, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=60.0, clock=clock) as fake:
        policy = tmp_path / "config.yaml"
        policy.write_text(
            f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
            f'vms: [{{id: {fake.vm_ids[0]}, schedule: "0 3 * * *"}}]\n'
            "metrics: {listen: '127.0.0.1:0'}\n"
            f"state_dir: {tiny_disk}\nstop_timeout: 2s\n"
        )
        daemon = build_daemon(policy, load_config(policy), token=TOKEN, clock=clock)
        urls: list[str] = []
        thread = threading.Thread(target=daemon.run, kwargs={"announce": urls.append})
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not urls and time.monotonic() < deadline:
                time.sleep(0.02)
            url = urls[0].removesuffix("/metrics")
            assert wait_for_readyz(url, 200) == "ready"

            fill(tiny_disk)
            clock.advance(PROBE_SECONDS)
            body = wait_for_readyz(url, 503)
            assert body == (
                f"not ready: state_dir {tiny_disk} cannot be written: No space left on device"
            )

            (tiny_disk / "filler").unlink()
            clock.advance(PROBE_SECONDS)
            assert wait_for_readyz(url, 200) == "ready"
        finally:
            daemon.request_stop()
            thread.join(timeout=20)
        assert not thread.is_alive()
