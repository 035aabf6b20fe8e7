"""``snapd status`` at fleet size: from a running daemon without an API call, or from the
API with one list request and one snapshot read per VM."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from snapd.cli import main
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.daemon.status_address import STATUS_ADDRESS_NAME, fetch_daemon_status
from snapd.fakeapi import FakeHostinger
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN, FakeSettings

WAIT_SECONDS = 20.0
HEALTH_CHECK = "https://vm-0.example.com/healthz?key=do-not-show"


@pytest.fixture
def fake_settings() -> FakeSettings:
    """The daemon runs in another process: the fake's actions run in real time."""
    return FakeSettings(vm_count=4, action_seconds=1.0, seed=3, manual_clock=False)


@pytest.fixture(autouse=True)
def recent_snapshots(fake: FakeHostinger) -> None:
    made = datetime.now(UTC) - timedelta(hours=1)  # newer than any missed slot
    for vm in fake.vm_ids:
        fake.set_snapshot(vm, made)


@pytest.fixture(autouse=True)
def token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)


@pytest.fixture
def policy_file(tmp_path: Path, fake: FakeHostinger) -> Path:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    first, *others = fake.vm_ids
    vms = [f"  - {{id: {first}, name: vm-0, health_check: {{url: '{HEALTH_CHECK}'}}}}"]
    vms += [f"  - {{id: {vm}, name: vm-{index}}}" for index, vm in enumerate(others, 1)]
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        "vms:\n" + "\n".join(vms) + "\n"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return path


class RunningDaemon:
    """A daemon in a thread of this process, with its log lines."""

    def __init__(self, policy_file: Path) -> None:
        self.daemon: Daemon = build_daemon(policy_file, load_config(policy_file), token=TOKEN)
        self.urls: list[str] = []
        self.thread = threading.Thread(
            target=self.daemon.run, kwargs={"announce": self.urls.append}
        )

    def __enter__(self) -> RunningDaemon:
        with structlog.testing.capture_logs() as self.logs:
            self.thread.start()
            self.wait_for(lambda: self.daemon.readiness() == (True, "ready"), "readiness")
            self.wait_for(lambda: self.events("inventory_done"), "the start-up look")
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.request_stop()
        self.thread.join(timeout=WAIT_SECONDS)
        assert not self.thread.is_alive(), "the daemon did not stop"

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in list(self.logs) if line["event"] == name]

    @staticmethod
    def wait_for(condition: Any, what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)


def rows(output: str) -> dict[str, list[str]]:
    """Each VM's row split on two or more spaces: VM, NAME, STATE, SNAPSHOT, ..."""
    found = {}
    for line in output.splitlines()[1:]:
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        found[cells[0]] = cells
    return found


def test_status_without_a_daemon_lists_once_and_reads_each_snapshot_once(
    policy_file: Path, fake: FakeHostinger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "-c", str(policy_file)]) == 0

    assert fake.count("GET", "/virtual-machines") == 1
    for vm in fake.vm_ids:
        assert fake.count("GET", f"/virtual-machines/{vm}/snapshot") == 1
    assert len(fake.requests) == 1 + len(fake.vm_ids)
    assert set(rows(capsys.readouterr().out)) == {str(vm) for vm in fake.vm_ids}


def test_status_with_a_running_daemon_makes_no_api_call_and_shows_the_same_vms(
    policy_file: Path, fake: FakeHostinger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "-c", str(policy_file)]) == 0
    from_the_api = rows(capsys.readouterr().out)

    with RunningDaemon(policy_file):
        fake.clear_requests()
        assert main(["status", "-c", str(policy_file)]) == 0
        assert fake.requests == []
    from_the_daemon = rows(capsys.readouterr().out)

    assert set(from_the_daemon) == set(from_the_api)
    for vm, cells in from_the_api.items():
        # VM, name, state and the snapshot's creation (its age may have moved a second).
        assert from_the_daemon[vm][:3] == cells[:3]
        assert from_the_daemon[vm][3].split()[0] == cells[3].split()[0]
        assert from_the_daemon[vm][5:] == cells[5:]


def test_the_status_endpoint_describes_the_fleet_without_secrets(
    policy_file: Path, fake: FakeHostinger
) -> None:
    with RunningDaemon(policy_file) as running:
        answer = urllib.request.urlopen(running.urls[0] + "/status", timeout=5)
        with answer:
            content_type = answer.headers["Content-Type"]
            body = answer.read().decode()

    assert content_type == "application/json"
    document = json.loads(body)
    assert document["format"] == 1
    assert document["pid"] == os.getpid()
    assert document["listed_at"] is not None
    assert [entry["id"] for entry in document["vms"]] == fake.vm_ids
    entry = document["vms"][0]
    assert set(entry) == {
        "id",
        "name",
        "state",
        "locked",
        "snapshot",
        "last_success",
        "next_run",
        "hold",
        "backup_newest",
    }
    assert (entry["name"], entry["state"], entry["locked"], entry["hold"]) == (
        "vm-0",
        "running",
        False,
        False,
    )
    assert entry["snapshot"]["present"] is True
    assert entry["snapshot"]["created_at"].endswith("Z")
    assert entry["next_run"].endswith("T03:00:00Z")
    assert TOKEN not in body and "example.com" not in body and "do-not-show" not in body


def test_the_address_file_is_gone_once_the_daemon_stops(policy_file: Path) -> None:
    state_dir = load_config(policy_file).state_dir
    with RunningDaemon(policy_file) as running:
        address = (state_dir / STATUS_ADDRESS_NAME).read_text().strip()
        assert address == running.urls[0]
        assert fetch_daemon_status(state_dir) is not None
    assert not (state_dir / STATUS_ADDRESS_NAME).exists()
    assert fetch_daemon_status(state_dir) is None


def test_a_stale_address_file_falls_back_to_the_api(
    policy_file: Path, fake: FakeHostinger, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = load_config(policy_file).state_dir
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    (state_dir / STATUS_ADDRESS_NAME).write_text(f"http://127.0.0.1:{port}\n")
    (state_dir / "daemon.lock").write_text("4242\n")  # a daemon that died long ago

    assert main(["status", "-c", str(policy_file)]) == 0

    assert fake.count("GET", "/virtual-machines") == 1
    assert set(rows(capsys.readouterr().out)) == {str(vm) for vm in fake.vm_ids}


def test_another_process_answering_at_the_address_is_not_taken_for_the_daemon(
    policy_file: Path, fake: FakeHostinger, tmp_path: Path
) -> None:
    # A daemon of another state_dir answers at the recorded address: its pid is not the
    # one in this state_dir's lock, so status asks the API.
    other_policy = tmp_path / "other.yaml"
    other_state = tmp_path / "other-state"
    other_state.mkdir()
    other_policy.write_text(
        policy_file.read_text().replace(str(tmp_path / "state"), str(other_state))
    )
    state_dir = load_config(policy_file).state_dir
    (state_dir / "daemon.lock").write_text(f"{os.getpid() + 1}\n")
    with RunningDaemon(other_policy) as other:
        (state_dir / STATUS_ADDRESS_NAME).write_text(other.urls[0] + "\n")
        assert fetch_daemon_status(other_state) is not None
        assert fetch_daemon_status(state_dir) is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_shows_its_progress_on_a_terminal_only(
    policy_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    with monkeypatch.context() as patched:
        patched.setattr("sys.stderr", terminal)
        assert main(["status", "-c", str(policy_file)]) == 0
    assert "reading snapshots: 4/4" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\033[K")  # the line is cleared before the table

    assert main(["status", "-c", str(policy_file)]) == 0
    assert "reading snapshots" not in capsys.readouterr().err
