"""A failing health check does not stop the snapshot of a VM that has no restore point.

The health check guards the last good restore point against an overwrite by an unhealthy
machine. A VM without a snapshot (or with only an expired one) has none, so the snapshot
is taken, logged as a warning and recorded as ``created_unhealthy``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.fakeapi import FakeHostinger
from tests.conftest import TOKEN, PolicyWriter


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHostinger]:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=0.2, seed=5) as running:
        yield running


def _policy(write_config: PolicyWriter, live: FakeHostinger, tmp_path: Path) -> Path:
    health = f"http://127.0.0.1:{_closed_port()}/healthz"
    return write_config(
        f"""
        api: {{base_url: '{live.base_url}', timeout: 5s, requests_per_minute: 6000}}
        defaults: {{schedule: "0 3 * * *", protect_manual: 0s}}
        vms:
          - id: {live.vm_ids[0]}
            health_check: {{url: '{health}', timeout: 2s}}
        state_dir: {tmp_path}
        log: {{format: json}}
        """
    )


def _once_and_history(path: Path, vm: int, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run ``once`` (it must succeed) and return the lines of ``history``."""
    assert main(["once", "-c", str(path), str(vm)]) == 0
    logged = capsys.readouterr().err.splitlines()
    [decision] = [json.loads(line) for line in logged if '"event": "decision"' in line]
    assert (decision["level"], decision["reason"]) == ("warning", "create_unhealthy"), logged
    assert "health check failed: connection refused" in decision["detail"]
    assert main(["history", "-c", str(path)]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_vm_without_a_snapshot_gets_its_first_one_although_its_health_check_fails(
    write_config: PolicyWriter,
    live: FakeHostinger,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live.vm_ids[0]
    live.clear_snapshot(vm)
    lines = _once_and_history(_policy(write_config, live, tmp_path), vm, capsys)
    assert live.count("POST", "/snapshot") == 1
    assert live.snapshot_of(vm) is not None
    [row] = lines[1:]
    assert "success" in row.split() and "created_unhealthy" in row.split()


def test_a_vm_whose_only_snapshot_expired_gets_a_new_one_although_its_health_check_fails(
    write_config: PolicyWriter,
    live: FakeHostinger,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live.vm_ids[0]
    now = live.server_now()
    live.set_snapshot(vm, now - timedelta(days=21), expires_at=now - timedelta(days=1))
    lines = _once_and_history(_policy(write_config, live, tmp_path), vm, capsys)
    assert live.count("POST", "/snapshot") == 1
    [row] = lines[1:]
    assert "created_unhealthy" in row.split()


def test_a_vm_with_a_live_snapshot_keeps_it_when_its_health_check_fails(
    write_config: PolicyWriter,
    live: FakeHostinger,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live.vm_ids[0]
    live.set_snapshot(vm, live.server_now() - timedelta(days=2))
    assert main(["once", "-c", str(_policy(write_config, live, tmp_path)), str(vm)]) == 3
    assert "health check failed: connection refused" in capsys.readouterr().out
    assert live.count("POST") == 0
