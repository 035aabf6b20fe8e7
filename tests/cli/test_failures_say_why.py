"""A failed health check or a pre-hook veto says why, in the table and in the log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.fakeapi import FakeHostinger
from tests.conftest import TOKEN, FakeMaker, FakeSettings


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, for a snapd in another process."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=1, action_seconds=1.0, seed=4, manual_clock=False)
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _once(
    tmp_path: Path, fake: FakeHostinger, vm_settings: str
) -> subprocess.CompletedProcess[str]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    policy = tmp_path / "config.yaml"
    policy.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        f"vms:\n  - id: {fake.vm_ids[0]}\n    name: web-1\n{vm_settings}"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snapd.cli",
            "-v",
            "once",
            "-c",
            str(policy),
            "--force",
            str(fake.vm_ids[0]),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_refused_health_check_names_its_cause_in_the_table_and_the_log(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/healthz"
    # A restore point to protect: a VM without one gets its snapshot anyway.
    live_fake.set_snapshot(live_fake.vm_ids[0], live_fake.server_now() - timedelta(days=2))
    finished = _once(tmp_path, live_fake, f"    health_check: {{url: '{url}', timeout: 2s}}\n")
    assert finished.returncode == 3, finished.stdout + finished.stderr
    assert "health check failed: connection refused" in finished.stdout
    vm = live_fake.vm_ids[0]
    [health] = [e for e in _events(finished.stderr) if e["event"] == "health_check_finished"]
    assert health["vm"] == vm
    assert str(health["detail"]).endswith("failed: connection refused")
    requests = [e for e in _events(finished.stderr) if e["event"] == "hostinger_request"]
    assert requests
    assert {e.get("vm") for e in requests if "{virtualMachineId}" in str(e["endpoint"])} == {vm}
    assert live_fake.count("POST") == 0


def test_a_pre_hook_veto_names_its_exit_code_and_last_line_of_output(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    hook = "echo starting; echo 'disk full' >&2; exit 3"
    finished = _once(tmp_path, live_fake, f'    pre_hook: {{command: [sh, -c, "{hook}"]}}\n')
    assert finished.returncode == 3, finished.stdout + finished.stderr
    assert "pre-hook vetoed the snapshot: exit code 3: disk full" in finished.stdout
    [hook_line] = [e for e in _events(finished.stderr) if e["event"] == "hook_finished"]
    assert (hook_line["vm"], hook_line["detail"]) == (live_fake.vm_ids[0], "exit code 3: disk full")
    assert live_fake.count("POST") == 0
