"""The composition root builds a whole daemon: every part on the clock it is handed.

Built with the test's manual clock and the in-process fake API, not run: what the parts
do when the daemon runs is in ``tests/daemon/test_in_process.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.fakeapi import FakeHostinger
from snapd.hostinger.budget import BudgetClosedError
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN
from tests.daemon.test_accounts import write_two_account_policy

STUCK_SECONDS = 10.0


@pytest.fixture
def daemon(fake: FakeHostinger, clock: ManualClock, tmp_path: Path) -> Iterator[Daemon]:
    path = tmp_path / "config.yaml"
    path.write_text(
        # 60 a minute with a burst of 6: the seventh request waits a second.
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 60}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        f"vms:\n  - {{id: {fake.vm_ids[0]}}}\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    built = build_daemon(path, load_config(path), token=TOKEN, clock=clock)
    yield built
    built.runtime.close()
    if built.instance_lock is not None:
        built.instance_lock.release()


def _until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition()`` holds within STUCK_SECONDS of real time."""
    pause = threading.Event()
    for _ in range(2000):
        if condition():
            return True
        pause.wait(0.005)
    return condition()


def test_the_daemons_request_budget_waits_on_the_clock_it_was_built_with(
    daemon: Daemon, clock: ManualClock
) -> None:
    for _ in range(daemon.budget.burst):
        assert daemon.budget.acquire() == 0.0
    waited: list[float] = []
    caller = threading.Thread(target=lambda: waited.append(daemon.budget.acquire()), daemon=True)
    caller.start()
    assert _until(lambda: clock.waiting() == 1)

    clock.advance(1)
    caller.join(STUCK_SECONDS)
    assert waited == [1.0]


def test_the_daemons_clock_tells_the_manual_time_and_a_stop_ends_its_waits(
    daemon: Daemon, clock: ManualClock
) -> None:
    clock.advance(90)
    assert daemon.clock.now() == clock.now()
    ended: list[bool] = []
    waiting = threading.Thread(
        target=lambda: ended.append(daemon.clock.wait(threading.Event(), 3600)), daemon=True
    )
    waiting.start()
    assert _until(lambda: clock.waiting() == 1)

    daemon.stop_event.set()
    waiting.join(STUCK_SECONDS)
    assert ended == [False]
    daemon.budget.close()
    with pytest.raises(BudgetClosedError):
        daemon.budget.acquire()


def test_every_accounts_request_budget_waits_on_the_clock_the_daemon_was_built_with(
    clock: ManualClock, tmp_path: Path
) -> None:
    # No request is made: the budgets are only built and drawn from.
    path = write_two_account_policy(tmp_path, "http://127.0.0.1:9")
    built = build_daemon(path, load_config(path), clock=clock)
    try:
        budget = built.runtime.connections["agency-b"].budget
        assert budget is not built.runtime.connections["agency-a"].budget
        for _ in range(budget.burst):
            assert budget.acquire() == 0.0
        waited: list[float] = []
        caller = threading.Thread(target=lambda: waited.append(budget.acquire()), daemon=True)
        caller.start()
        assert _until(lambda: clock.waiting() == 1)

        clock.advance(1)
        caller.join(STUCK_SECONDS)
        assert waited == [pytest.approx(0.01)]
    finally:
        built.runtime.close()
        if built.instance_lock is not None:
            built.instance_lock.release()
