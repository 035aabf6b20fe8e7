"""`snapd status` and `snapd history` for a monitoring user: a state folder it may read but
not write, the actions still pending, and a VM the policy does not list."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.fakeapi import FakeHostinger
from snapd.ledger import PendingAction, SqliteLedger
from tests.conftest import TOKEN, FakeMaker, FakeSettings

STARTED = datetime(2026, 11, 27, 3, 0, 4, tzinfo=UTC)
SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
# As root, permissions do not stop a write; a read-only bind mount in a mount namespace
# of the child's own does, whoever runs it.
READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, for a snapd in another process."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=2, action_seconds=1.0, seed=4, manual_clock=False)
    )


@pytest.fixture
def policy(tmp_path: Path, live_fake: FakeHostinger) -> Path:
    """A policy of two VMs whose ledger holds a pending intent and a pending action."""
    state = tmp_path / "state"
    first, second = live_fake.vm_ids
    with SqliteLedger.open(state) as ledger:
        ledger.add_pending(PendingAction(first, None, "snapshot", SLOT, STARTED))
        ledger.add_pending(PendingAction(second, 8118677, "restore", None, STARTED))
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{live_fake.base_url}', requests_per_minute: 6000}}\n"
        f"vms:\n  - {{id: {first}, name: web-1, schedule: '@daily'}}\n"
        f"  - {{id: {second}, name: db-1, schedule: '@daily'}}\n"
        f"state_dir: {state}\nlog: {{format: json}}\n"
    )
    return path


def as_monitoring_user(state: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run snapd with ``state`` read-only to it: a read-only mount as root, else chmod."""
    command = [sys.executable, "-m", "snapd.cli", *arguments]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare to make a folder read-only for root")
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY,
                   "sh", str(state), *command]  # fmt: skip
    else:
        state.chmod(0o555)
        (state / "ledger.sqlite3").chmod(0o444)
    environment = {**os.environ, "HOSTINGER_API_TOKEN": TOKEN}
    try:
        return subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=60, check=False
        )
    finally:
        state.chmod(0o700)


def test_status_and_history_read_a_read_only_ledger_and_show_what_is_pending(
    policy: Path, live_fake: FakeHostinger
) -> None:
    state = policy.parent / "state"
    first, second = live_fake.vm_ids

    status = as_monitoring_user(state, "status", "-c", str(policy))
    history = as_monitoring_user(state, "history", "-c", str(policy))

    if "Operation not permitted" in status.stderr or "Permission denied" in status.stderr:
        pytest.skip(f"cannot make a read-only mount here: {status.stderr.strip()}")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0].split()[-1] == "PENDING"
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
    assert rows[str(first)].endswith("snapshot intent since 2026-11-27T03:00:04Z")
    assert rows[str(second)].endswith("restore 8118677 since 2026-11-27T03:00:04Z")
    assert history.returncode == 0, history.stderr
    assert [" ".join(line.split()) for line in history.stdout.splitlines()[-3:]] == [
        "VM PENDING SLOT",
        f"{first} snapshot intent since 2026-11-27T03:00:04Z 2026-11-27T03:00:00Z",
        f"{second} restore 8118677 since 2026-11-27T03:00:04Z -",
    ]
    assert sorted(os.listdir(state)) == ["ledger.sqlite3"]


def test_history_of_a_vm_the_policy_does_not_list_exits_2(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "-c", str(policy), "999"]) == 2

    assert capsys.readouterr().err == f"snapd: error: virtual machine 999 is not in {policy}\n"
