"""A real ``snapd run`` killed with SIGKILL at several points of a slow create, and
restarted: one create in all, no traceback, the token never printed.

The fake API runs as its own process so that it outlives the killed daemon and finishes
the work a dead daemon may have started, as the real API would.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.support.daemon import (
    VM,
    DaemonProcess,
    create_actions,
    fake_api_process,
    kill_while_sending,
)
from tests.support.policy import write_policy

# The create is executed 2 s after it arrives, whatever the client does meanwhile, and the
# snapshot takes 3 s more: room to kill the daemon while it sends, and while it waits.
FAKE = [
    "--vms", "1", "--action-seconds", "3",
    "--fault", "create_snapshot:latency:seconds=2:count=1",
]  # fmt: skip
SENDING = "sending"  # a kill point: the create is with the fake, not yet answered


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    """The fake API's process; yields its base URL."""
    with fake_api_process(tmp_path, FAKE) as base_url:
        yield base_url


@pytest.mark.parametrize(
    "kill_points",
    [
        pytest.param([SENDING], id="while the create is sent"),
        pytest.param(["snapshot_requested"], id="while the action runs"),
        pytest.param(
            [SENDING, "resuming_pending_action"], id="while sending, then again while resolving"
        ),
    ],
)
def test_a_daemon_killed_mid_create_and_restarted_makes_one_snapshot(
    fake_api: str, tmp_path: Path, kill_points: list[str]
) -> None:
    policy = write_policy(tmp_path / "config.yaml", fake_api, [VM], tmp_path / "state")
    outputs: list[str] = []
    for event in kill_points:
        daemon = DaemonProcess(policy)
        if event == SENDING:
            kill_while_sending(daemon)
        else:
            daemon.wait_for(event)
            os.kill(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=10)
        outputs.extend(daemon.raw)

    last = DaemonProcess(policy)
    try:
        finished = last.wait_for("snapshot_finished", timeout=40, vm=VM)
    finally:
        assert last.stop() == 0
    outputs.extend(last.raw)

    assert finished["result"] == "success"
    assert create_actions(fake_api) == 1
    log = "".join(outputs)
    assert "Traceback" not in log
    assert TOKEN not in log
