"""One daemon, two Hostinger accounts: a refused token stops only its own account.

The daemon is built in this process on a manual clock against the fake API with two
accounts (one token each, their own VMs and request logs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.daemon.fleet_status import MachineStates
from snapd.fakeapi.accounts import FakeAccount, FakeAccounts
from snapd.hostinger import VirtualMachine
from snapd.ledger.store import SqliteLedger
from snapd.runtime.daemon import build_daemon

pytestmark = pytest.mark.usefixtures("drive_poller")

WAIT_SECONDS = 20.0
AGENCY_A = [100, 101]
AGENCY_B = [200, 201]


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def clock_start() -> datetime:
    # Near the real time: APScheduler fires the daemon's one-off runs in real time.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def accounts(clock: ManualClock) -> Iterator[FakeAccounts]:
    fakes = FakeAccounts(
        [
            FakeAccount("agency-a", "token-a", vm_count=2, first_vm_id=AGENCY_A[0]),
            FakeAccount("agency-b", "token-b", vm_count=2, first_vm_id=AGENCY_B[0]),
        ],
        clock=clock,
        action_seconds=60.0,
    )
    with fakes:
        yield fakes


def write_two_account_policy(folder: Path, base_url: str) -> Path:
    """A policy with agency-a's and agency-b's VMs, their tokens in files beside it."""
    for name, token in (("a", "token-a"), ("b", "token-b")):
        token_file = folder / f"{name}.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
    (folder / "state").mkdir(exist_ok=True)
    listing = "".join(f"  - {{id: {vm}, account: agency-a}}\n" for vm in AGENCY_A)
    listing += "".join(f"  - {{id: {vm}, account: agency-b}}\n" for vm in AGENCY_B)
    path = folder / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        "accounts:\n"
        "  - {name: agency-a, token_file: a.token}\n"
        "  - {name: agency-b, token_file: b.token}\n"
        'defaults: {schedule: "0 3 * * *", catch_up: 2d}\n'
        f"vms:\n{listing}"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {folder / 'state'}\n"
        "stop_timeout: 2s\n"
    )
    return path


def _successes(daemon: Daemon, virtual_machine_id: int) -> int:
    rows = daemon.runtime.ledger.history(virtual_machine_id, limit=100)
    return sum(1 for row in rows if row.outcome == "success")


def test_a_revoked_token_in_one_account_leaves_the_other_snapshotting_once_per_slot(
    accounts: FakeAccounts, clock: ManualClock, tmp_path: Path
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)
    accounts.revoke("agency-a")
    with structlog.testing.capture_logs() as logs:
        daemon = build_daemon(path, load_config(path), clock=clock)
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(daemon.run()))
        thread.start()
        try:
            # The catch-up of the missed 03:00 slot: one create per VM of agency-b.
            for vm in AGENCY_B:
                _wait_until(lambda vm=vm: _successes(daemon, vm) == 1, f"the catch-up of {vm}")
            refused = lambda: [line for line in logs if line["event"] == "api_token_refused"]  # noqa: E731
            _wait_until(lambda: bool(refused()), "the refused token to be reported")
            _wait_until(lambda: daemon.jobs.count() == 0, "the runs to end")
            assert thread.is_alive()
            exposition = daemon.metrics.exposition().decode()
            # agency-b's successes do not clear agency-a's refused token.
            readiness = daemon.readiness()
        finally:
            daemon.request_stop()
            thread.join(WAIT_SECONDS)

    b_posts = [r.path for r in accounts["agency-b"].requests_matching("POST", "/snapshot")]
    assert sorted(b_posts) == [f"/api/vps/v1/virtual-machines/{vm}/snapshot" for vm in AGENCY_B]
    assert accounts["agency-a"].count("POST") == 0
    assert {request.status for request in accounts["agency-a"].requests} == {401}
    # The ledger's rows name the account of their VM.
    with SqliteLedger.open(tmp_path / "state") as ledger:
        assert {row.account for row in ledger.history()} == {"agency-b"}
    first: dict[str, Any] = refused()[0]
    assert (first["account"], first["log_level"]) == ("agency-a", "error")
    assert codes == [0]
    # Per-VM series name their account; a VM of the refused account has no success.
    success = 'snapd_snapshot_attempts_total{{account="{}",result="success",vm="{}"}} 1.0'
    for vm in AGENCY_B:
        assert success.format("agency-b", vm) in exposition
    assert 'snapd_hold_active{account="agency-a",vm="100"} 0.0' in exposition
    assert 'account="agency-a",result="success"' not in exposition
    assert "snapd_api_authentication_ok 0.0" in exposition
    assert readiness[0] is False


def test_the_status_view_keeps_every_accounts_latest_vm_list(clock: ManualClock) -> None:
    states = MachineStates(clock)

    def machine(vm: int, state: str) -> VirtualMachine:
        return VirtualMachine(id=vm, state=state, actions_lock="unlocked", hostname=None, plan=None)

    states.machines_listed([machine(100, "running")], "agency-a")
    states.machines_listed([machine(200, "stopped")], "agency-b")
    states.machines_listed([machine(100, "stopping")], "agency-a")

    assert states.snapshot()[1] == {100: ("stopping", False), 200: ("stopped", False)}
