"""The daemon with long actions on a manual clock: how many threads and how much memory
while every VM of the fleet waits for its action at once.

The fake API and the daemon share one ``ManualClock``; a stepper advances it by one
second every 10 ms (100 times real time), and a wait ends when the clock has passed its
end, so a 5-minute action ends in 3 seconds. Run by ``bench/fleet.py`` in a process of its own;
prints one JSON line. Peak threads and RSS are the process's: the fake's included.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import TOKEN, sampled, start_fake, write_policy
from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.logs import configure_logging
from snapd.pipeline.wait import PollSettings
from snapd.runtime.daemon import build_daemon

STEP_SECONDS = 1.0
STEP_EVERY = 0.01


class SteppedClock(ManualClock):
    """A ``ManualClock`` on which a sleep waits until the stepper has moved the time past
    its end, as a real sleep would; ``ManualClock`` itself would jump ahead at every sleep,
    and a thousand sleepers would jump it a thousand times too far."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._sleepers: list[tuple[datetime, int, threading.Event]] = []
        self._sleepers_lock = threading.Lock()
        self._count = 0

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        wake = threading.Event()
        with self._sleepers_lock:
            self._count += 1
            heapq.heappush(
                self._sleepers, (self.now() + timedelta(seconds=seconds), self._count, wake)
            )
        wake.wait()

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        now = self.now()
        with self._sleepers_lock:
            while self._sleepers and self._sleepers[0][0] <= now:
                heapq.heappop(self._sleepers)[2].set()


def slow_actions_command(vms: int, action_seconds: float, timeout: float) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        f"--vms={vms}",
        f"--action-seconds={action_seconds}",
        f"--timeout={timeout}",
    ]


def successes(daemon: Daemon) -> float:
    total = 0.0
    for family in daemon.metrics.registry.collect():
        if family.name == "snapd_snapshot_attempts":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") == "success":
                    total += sample.value
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--action-seconds", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    options = parser.parse_args()
    configure_logging("json", "error")
    clock = SteppedClock(datetime.now(UTC))
    fake, _ = start_fake(options.vms, options.action_seconds, None, clock=clock)
    stepping = threading.Event()

    def step() -> None:
        while not stepping.wait(STEP_EVERY):
            clock.advance(STEP_SECONDS)

    with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
        policy = write_policy(
            Path(folder),
            fake,
            [
                'defaults: {schedule: "0 * * * *", protect_manual: 0s}',
                "metrics: {listen: '127.0.0.1:0'}",
            ],
            requests_per_minute=60000,
        )
        config = load_config(policy)
        poll = PollSettings(first_delay=options.action_seconds * 0.8, maximum_delay=60.0)
        daemon = build_daemon(policy, config, token=TOKEN, poll=poll, clock=clock)
        runner = threading.Thread(target=daemon.run, kwargs={"run_for": options.timeout})
        stepper = threading.Thread(target=step, daemon=True)
        virtual_start = clock.now()
        started = time.monotonic()
        with sampled(os.getpid()) as peaks:
            runner.start()
            stepper.start()
            while time.monotonic() - started < options.timeout:
                made = sum(1 for vm in fake.vm_ids if fake.snapshot_of(vm) is not None)
                if made >= options.vms and successes(daemon) >= options.vms:
                    break
                time.sleep(0.5 if made < options.vms else 1.0)
            verified = successes(daemon)
        elapsed = time.monotonic() - started
        virtual = (clock.now() - virtual_start).total_seconds()
        daemon.request_stop()
        runner.join(timeout=60)
        stepping.set()
    fake.stop()
    print(
        json.dumps(
            {
                "vms": options.vms,
                "action_seconds": options.action_seconds,
                "verified": int(verified),
                "real_seconds": round(elapsed, 1),
                "virtual_seconds": round(virtual, 1),
                "peak_threads": peaks.threads,
                "peak_rss_mib": round(peaks.rss_mib, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
