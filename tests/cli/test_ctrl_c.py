"""Ctrl-C stops ``snapd once`` at once; the action stays pending and the next run resumes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from snapd.ledger import SqliteLedger

TOKEN = "ctrl-c-token"
PREFIX = "/api/vps/v1/virtual-machines"


@pytest.fixture
def slow_fake() -> Iterator[tuple[str, int]]:
    """``snapd fake-api`` in its own process, one VM, 90-second actions: (URL, VM id)."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "snapd.cli", "fake-api", "--listen", "127.0.0.1:0"),
            *("--token", TOKEN, "--vms", "1", "--action-seconds", "90"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().removeprefix("fake Hostinger API listening on ")
    vm = int(process.stdout.readline().strip().removeprefix("virtual machines: "))
    try:
        yield url, vm
    finally:
        process.terminate()
        process.wait(timeout=10)


def _actions(url: str, vm: int) -> list[dict[str, object]]:
    answer = requests.get(
        f"{url}{PREFIX}/{vm}/actions", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    data: list[dict[str, object]] = answer.json()["data"]
    return data


def _start_once(policy: Path, vm: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "snapd.cli", "once", "-c", str(policy), "--force", str(vm)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        text=True,
    )


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, float, str]:
    """SIGINT; the exit code, the seconds it took, and standard error."""
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    seconds = time.monotonic() - interrupted
    assert process.stderr is not None
    return code, seconds, process.stderr.read()


def test_ctrl_c_stops_once_within_seconds_and_the_next_run_resumes_without_a_second_post(
    slow_fake: tuple[str, int], tmp_path: Path
) -> None:
    url, vm = slow_fake
    state_dir = tmp_path / "state"
    policy = tmp_path / "config.yaml"
    policy.write_text(
        f"api: {{base_url: '{url}', timeout: 5s}}\n"
        'defaults: {schedule: "0 3 * * *", action_timeout: 10m}\n'
        f"vms:\n  - {{id: {vm}, name: web-1}}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    first = _start_once(policy, vm)
    deadline = time.monotonic() + 30
    while not _actions(url, vm) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_actions(url, vm)) == 1
    code, seconds, stderr = _interrupt(first)
    assert code == 130, stderr
    assert seconds < 5, stderr
    assert "the next run resumes them" in stderr
    with SqliteLedger.open(state_dir) as ledger:
        [pending] = ledger.pending()
    assert pending.action_id == _actions(url, vm)[0]["id"]

    second = _start_once(policy, vm)
    assert second.stderr is not None
    resumed = ""
    while "resuming_pending_action" not in resumed:
        line = second.stderr.readline()
        assert line, resumed
        resumed += line
    code, _, _ = _interrupt(second)
    assert code == 130
    assert len(_actions(url, vm)) == 1  # resumed by looking, never a second create
