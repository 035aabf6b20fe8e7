"""Benchmark: the CPU the request budget costs per request when many threads wait on it.

Starts ``--threads`` threads that each take ``--acquires`` slots from one budget paced at
``--requests-per-minute`` (real clock, burst 1, so nearly every caller waits), and reports
the process CPU (user + system) per acquire, the sleeps per acquire (1.0 means each caller
slept once: no thundering herd) and the achieved rate. Thread start-up is measured apart
and left out. Not part of the test suite; the last line is one JSON object.

    python bench/budget.py --threads 1000 --acquires 3 --requests-per-minute 60000
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time

from snapd.clock import SystemClock, Waitable
from snapd.hostinger.budget import RequestBudget


class CountingClock(SystemClock):
    """The real clock, counting the waits callers start (a wake-up each)."""

    def __init__(self) -> None:
        self.waits = 0
        self._lock = threading.Lock()

    def wait(self, target: Waitable, seconds: float) -> bool:
        with self._lock:
            self.waits += 1
        return super().wait(target, seconds)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--acquires", type=int, default=3)
    parser.add_argument("--requests-per-minute", type=float, default=60000)
    options = parser.parse_args()

    clock = CountingClock()
    budget = RequestBudget(options.requests_per_minute, clock, burst=1)
    go = threading.Event()

    def caller() -> None:
        go.wait()
        for _ in range(options.acquires):
            budget.acquire()

    threads = [threading.Thread(target=caller) for _ in range(options.threads)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # let every thread reach the start line
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    go.set()
    for thread in threads:
        thread.join()
    cpu = cpu_seconds() - cpu_before
    wall = time.monotonic() - wall_before

    total = options.threads * options.acquires
    result = {
        "threads": options.threads,
        "acquires": total,
        "requests_per_minute": options.requests_per_minute,
        "cpu_seconds": round(cpu, 3),
        "cpu_ms_per_acquire": round(1000 * cpu / total, 4),
        "sleeps_per_acquire": round(clock.waits / total, 3),
        "achieved_per_minute": round(60 * total / wall),
        "wall_seconds": round(wall, 2),
    }
    print(f"{'figure':<22}{'value':>14}")
    for name, value in result.items():
        print(f"{name:<22}{value:>14}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
