"""Benchmark: what the total deadline of an API attempt costs per request.

Sends ``--requests`` GETs (1000 by default) to the embedded fake API on one keep-alive
connection through :func:`snapd.hostinger.exchange.exchange`, twice: once with the
client's real deadline keeper, once with a keeper that keeps nothing. Prints one JSON
line: the milliseconds per request of each run, their difference, and the cost of the
bookkeeping alone (a watchdog, scheduling and cancelling its deadline, watching the
socket, two socket timeouts), timed without the network around it. The bookkeeping must
stay within 0.2 ms per request.

Not part of the test suite. Run: ``python bench/deadlines.py``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.common import TOKEN
from snapd.clock import SystemClock
from snapd.fakeapi.fake import FakeHostinger
from snapd.hostinger.connections import Connections
from snapd.hostinger.deadlines import Deadline, DeadlineTimers
from snapd.hostinger.exchange import Line, exchange
from snapd.hostinger.watchdog import Watchdog

PATH = "/api/vps/v1/virtual-machines"


class NoTimers(DeadlineTimers):
    """A keeper that schedules nothing: the run without deadlines to compare with."""

    def schedule(self, seconds: float, callback: Callable[[], None]) -> Deadline:
        return Deadline(0.0, 0, callback)


def timed_gets(base_url: str, timers: DeadlineTimers, count: int) -> float:
    """Milliseconds per GET over ``count`` GETs on one client's connections."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    line = Line(Connections(), timers, {})
    prepared = session.prepare_request(requests.Request("GET", base_url + PATH))
    monotonic = SystemClock().monotonic
    exchange(line, prepared, connect_seconds=5, total_seconds=30, monotonic=monotonic)
    started = time.perf_counter()  # the connection is made: keep-alive GETs from here
    for _ in range(count):
        exchange(line, prepared, connect_seconds=5, total_seconds=30, monotonic=monotonic)
    elapsed = time.perf_counter() - started
    line.connections.close()
    timers.stop()
    return elapsed * 1000 / count


def bookkeeping_milliseconds(count: int) -> float:
    """Milliseconds per request of the deadline's bookkeeping alone."""
    timers = DeadlineTimers()
    left, right = socket.socketpair()
    started = time.perf_counter()
    for _ in range(count):
        watchdog = Watchdog()
        deadline = timers.schedule(30.0, watchdog.fire)
        watchdog.watch(left)
        left.settimeout(30.0)
        left.settimeout(29.0)
        watchdog.finish()
        deadline.cancel()
    elapsed = time.perf_counter() - started
    timers.stop()
    left.close()
    right.close()
    return elapsed * 1000 / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="GETs per run (1000)")
    arguments = parser.parse_args(argv)
    count = max(1, arguments.requests)
    with FakeHostinger(token=TOKEN, vm_count=1, seed=1) as fake:
        without = timed_gets(fake.base_url, NoTimers(), count)
        with_deadlines = timed_gets(fake.base_url, DeadlineTimers(), count)
    bookkeeping = bookkeeping_milliseconds(count)
    figures = {
        "requests": count,
        "milliseconds_per_get_without_deadlines": round(without, 4),
        "milliseconds_per_get_with_deadlines": round(with_deadlines, 4),
        "difference_milliseconds": round(with_deadlines - without, 4),
        "bookkeeping_milliseconds_per_request": round(bookkeeping, 4),
        "within_0_2_milliseconds": bookkeeping <= 0.2,
    }
    print(json.dumps(figures))
    return 0 if bookkeeping <= 0.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
