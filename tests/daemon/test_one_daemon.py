"""One daemon per state directory; the daemon does not count itself as another holder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from snapd.config import load_config
from snapd.fakeapi import FakeHostinger
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN, FakeMaker, FakeSettings
from tests.support.daemon import DaemonProcess
from tests.support.policy import HOURLY, NO_MANUAL_PROTECTION, write_policy


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, for a snapd in another process."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=2, action_seconds=1.0, seed=3, manual_clock=False)
    )


def test_a_second_daemon_on_the_same_state_refuses_and_names_the_first(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    first = DaemonProcess(policy)
    try:
        first.wait_for("started")
        second = subprocess.run(
            [sys.executable, "-m", "snapd.cli", "run", "-c", str(policy)],
            capture_output=True,
            text=True,
            env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert second.returncode == 2, second.stderr
        assert f"another snapd daemon (pid {first.process.pid}) already runs" in second.stderr
        assert "Traceback" not in second.stderr
        assert "catch_up" not in second.stderr
        assert first.process.poll() is None
    finally:
        assert first.stop() == 0
    # Once the first one has stopped, the state is free again.
    again = DaemonProcess(policy)
    try:
        again.wait_for("started")
    finally:
        assert again.stop() == 0


def test_a_slot_meeting_the_daemons_own_running_job_is_coalesced_not_skipped(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    config = load_config(
        write_policy(
            tmp_path / "config.yaml",
            live_fake.base_url,
            live_fake.vm_ids,
            state_dir,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
    )
    daemon = build_daemon(config.source, config, token=TOKEN)
    policy = config.vms[0]
    try:
        with structlog.testing.capture_logs() as logs, daemon.jobs.running(policy) as first:
            assert first
            daemon._run_slot(policy.id, None, "refresh")
    finally:
        daemon.runtime.close()
        if daemon.instance_lock is not None:
            daemon.instance_lock.release()
    events = [(line["event"], line["log_level"]) for line in logs]
    assert events == [("run_coalesced", "debug")]
    assert live_fake.count("POST") == 0
