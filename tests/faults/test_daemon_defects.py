"""The daemon under faults: a wedged job cannot hold the stop or fool the watchdog, a
signal during start-up cannot kill it, and no policy value can make a reload raise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.config import HealthCheck, HookCommand, load_config
from snapd.daemon.jobs import RunningJobs, slot_bound
from snapd.fakeapi import FakeHostinger
from snapd.runtime.daemon import build_daemon
from tests.conftest import START, TOKEN, FakeMaker, FakeSettings, make_policy
from tests.support.daemon import DaemonProcess
from tests.support.policy import write_policy


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, for a snapd in another process."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=1, action_seconds=1.0, seed=9, manual_clock=False)
    )


# Keys after the VM list: a quick stop.
STOP_TIMEOUT = "stop_timeout: 2s\n"


def test_sigterm_ends_the_process_within_stop_timeout_whatever_a_job_is_stuck_in(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    pid_file = tmp_path / "hook.pid"
    hook = (
        f"    pre_hook: {{command: [sh, -c, 'echo $$ > {pid_file}; exec sleep 60'], timeout: 5m}}\n"
    )
    daemon = DaemonProcess(
        write_policy(
            tmp_path / "config.yaml",
            live_fake.base_url,
            live_fake.vm_ids[:1],
            tmp_path / "state",
            extra=hook + STOP_TIMEOUT,
        )
    )
    try:
        daemon.wait_for("run_started")
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        stopping = time.monotonic()
        assert daemon.stop(timeout=8) == 0
        assert time.monotonic() - stopping < 2 + 3  # stop_timeout plus start-up slack
        assert daemon.wait_for("stopped")["unfinished_runs"] == 1
        assert live_fake.count("POST") == 0
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_job_far_past_its_bound_stops_the_watchdog_pings(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    config = load_config(
        write_policy(
            tmp_path / "config.yaml",
            live_fake.base_url,
            live_fake.vm_ids[:1],
            tmp_path / "state",
            extra=STOP_TIMEOUT,
        )
    )
    daemon = build_daemon(config.source, config, token=TOKEN)
    jobs_clock = ManualClock(START)
    daemon.runs.jobs = RunningJobs(jobs_clock)
    policy = make_policy(live_fake.vm_ids[0])
    with structlog.testing.capture_logs() as logs, daemon.jobs.running(policy):
        assert daemon.healthy()
        jobs_clock.advance(slot_bound(policy).total_seconds() + 1)
        assert not daemon.healthy()
        assert not daemon.healthy()
    assert daemon.healthy()
    assert [line["event"] for line in logs].count("job_wedged") == 1
    assert slot_bound(policy) > policy.busy_timeout + policy.action_timeout


def test_a_sighup_while_the_policy_is_read_does_not_kill_the_daemon(
    live_fake: FakeHostinger, tmp_path: Path
) -> None:
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids[:1],
        tmp_path / "state",
        extra=STOP_TIMEOUT,
    )
    script = (
        "import os, signal, sys\n"
        "import snapd.cli.commands.loading as loading\n"
        "import snapd.cli.dispatch as cli\n"
        "load = loading.load\n"
        "def load_slowly(arguments, **options):\n"
        "    os.kill(os.getpid(), signal.SIGHUP)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return load(arguments, **options)\n"
        "loading.load = load_slowly\n"
        f"sys.exit(cli.main(['run', '-c', {str(policy)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"event": "reloaded"' in done.stderr and '"event": "stopped"' in done.stderr


@pytest.mark.parametrize(
    "bad",
    [
        "    min_age: 9999999999999w\n",
        "    health_check: {url: 'http://[fd00::1/healthz'}\n",
        "    schedule: '99 99 * * *'\n",
        "    timezone: Mars/Olympus_Mons\n",
    ],
)
def test_a_reload_with_any_bad_value_keeps_the_daemon_and_its_policy(
    live_fake: FakeHostinger, tmp_path: Path, bad: str
) -> None:
    live_fake.set_snapshot(live_fake.vm_ids[0], datetime.now(UTC))
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids[:1],
        tmp_path / "state",
        extra=STOP_TIMEOUT,
    )
    daemon = DaemonProcess(policy)
    try:
        daemon.wait_for("started")
        write_policy(
            policy,
            live_fake.base_url,
            live_fake.vm_ids[:1],
            policy.parent / "state",
            extra=bad + STOP_TIMEOUT,
        )
        daemon.signal(signal.SIGHUP)
        rejected = daemon.wait_for("reload_rejected")
        assert rejected["problem"].startswith(f"{policy}:")
        assert daemon.process.poll() is None
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in "".join(daemon.raw)


def test_the_slot_bound_counts_every_check_and_hook() -> None:
    bare = make_policy(1)
    checked = make_policy(
        1,
        health_check=HealthCheck("https://x.example/", timedelta(seconds=10), ()),
        pre_hook=HookCommand(("a",), timedelta(minutes=5)),
        post_hook=HookCommand(("b",), timedelta(minutes=1)),
    )
    assert slot_bound(checked) - slot_bound(bare) == timedelta(minutes=6, seconds=10)
