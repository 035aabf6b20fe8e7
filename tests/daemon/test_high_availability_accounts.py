"""Two ``snapd run`` replicas, two Hostinger accounts, one PostgreSQL ledger: one leader
serves both accounts, and a failover sends no create twice in either.

The fake API runs as its own process with two accounts (``--account``), each with one VM
whose create is answered after 2 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import TOKEN
from tests.support.daemon import SLOW_CREATE, VM, DaemonProcess, kill_while_sending
from tests.support.replica import fake_api_process, finish, leader

TAKEOVER_BOUND_SECONDS = 15.0
SECOND_TOKEN = "token-of-agency-b"
# ``snapd fake-api`` starts each further account's ids this far on.
SECOND_VM = VM + 1_000_000


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPD_LEADERSHIP_RETRY_SECONDS", "0.3")


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    """The fake API's process with agency-b beside the first account; its base URL."""
    (tmp_path / "b.token").write_text(SECOND_TOKEN)
    (tmp_path / "b.token").chmod(0o600)
    arguments = [*SLOW_CREATE, "--account", f"agency-b={tmp_path / 'b.token'}"]
    with fake_api_process(tmp_path, arguments) as base_url:
        yield base_url


def _replica(folder: Path, base_url: str, dsn: str, name: str) -> DaemonProcess:
    (folder / "a.token").write_text(TOKEN)
    (folder / "a.token").chmod(0o600)
    state_dir = folder / f"state-{name}"
    state_dir.mkdir(exist_ok=True)
    policy = folder / f"{name}.yaml"
    policy.write_text(
        f"api: {{base_url: '{base_url}', timeout: 10s, requests_per_minute: 6000}}\n"
        "accounts:\n"
        "  - {name: agency-a, token_file: a.token}\n"
        "  - {name: agency-b, token_file: b.token}\n"
        'defaults: {schedule: "0 3 * * *", catch_up: 2d}\n'
        f"vms:\n  - {{id: {VM}, account: agency-a}}\n  - {{id: {SECOND_VM}, account: agency-b}}\n"
        f"ledger: {{backend: postgresql, dsn: '{dsn}', fleet: web}}\n"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return DaemonProcess(policy)


def _creates(base_url: str, virtual_machine_id: int, token: str) -> int:
    answer = requests.get(
        f"{base_url}/api/vps/v1/virtual-machines/{virtual_machine_id}/actions",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    return sum(1 for action in answer.json()["data"] if action["name"] == "create_snapshot")


def test_a_failover_keeps_both_accounts_slots_at_one_create_each(
    fake_api: str, tmp_path: Path, postgres_dsn: str
) -> None:
    first = _replica(tmp_path, fake_api, postgres_dsn, "a")
    replicas = [first]
    try:
        first.wait_for("leadership_acquired")
        second = _replica(tmp_path, fake_api, postgres_dsn, "b")
        replicas.append(second)
        second.wait_for("started")
        assert leader(first, second) == [1.0, 0.0]
        kill_while_sending(first)
        killed = time.monotonic()
        second.wait_for("leadership_acquired", timeout=TAKEOVER_BOUND_SECONDS)
        takeover = time.monotonic() - killed
        finished = [
            second.wait_for("snapshot_finished", timeout=30, vm=vm) for vm in (VM, SECOND_VM)
        ]
        assert leader(second) == [1.0]
    finally:
        finish(*replicas)

    assert takeover < TAKEOVER_BOUND_SECONDS
    assert [line["result"] for line in finished] == ["success", "success"]
    assert [line["account"] for line in finished] == ["agency-a", "agency-b"]
    assert _creates(fake_api, VM, TOKEN) == 1
    assert _creates(fake_api, SECOND_VM, SECOND_TOKEN) == 1
