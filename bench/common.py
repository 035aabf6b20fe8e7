"""What the benchmark scripts share: the fake API, policies, a child snapd, its threads,
memory and CPU, and the report (a table, then one JSON line). Not part of the test suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snapd.clock import Clock
from snapd.fakeapi import FakeHostinger

TOKEN = "bench-token"
SNAPD = [sys.executable, "-m", "snapd.cli"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_window(text: str) -> tuple[int, float]:
    """``1000/10`` (requests per seconds) as ``(1000, 10.0)``."""
    count, _, seconds = text.partition("/")
    return int(count), float(seconds or 60)


def per_minute(window: tuple[int, float]) -> float:
    return window[0] * 60 / window[1]


def start_fake(
    vms: int,
    action_seconds: float,
    window: tuple[int, float] | None,
    clock: Clock | None = None,
    retry_after: float | None = None,
) -> tuple[FakeHostinger, str]:
    """The fake API on port 0 with a fixed-window limit, and a note on what it limits.

    A fake without the fixed-window mode falls back to its sliding window of the same
    rate per minute, and the note says so.
    """
    note = "no limit"
    arguments: dict[str, Any] = {"token": TOKEN, "vm_count": vms, "action_seconds": action_seconds}
    if clock is not None:
        arguments["clock"] = clock
    if window is None:
        fake = FakeHostinger(**arguments)
    else:
        try:
            fake = FakeHostinger(**arguments, fixed_window=window, retry_after=retry_after)
            note = f"fixed window {window[0]} per {window[1]:g} s"
        except TypeError:
            fake = FakeHostinger(**arguments, requests_per_minute=round(per_minute(window)))
            note = (
                f"this fake has no fixed-window mode: sliding window of "
                f"{per_minute(window):.0f}/min instead"
            )
    fake.start("127.0.0.1", 0)
    return fake, note


def write_policy(folder: Path, fake: FakeHostinger, lines: Sequence[str], **api: Any) -> Path:
    """A policy for every VM of ``fake``; ``lines`` are extra top-level YAML lines."""
    state_dir = folder / "state"
    state_dir.mkdir(exist_ok=True)
    settings = ", ".join(f"{key}: {value}" for key, value in api.items())
    listing = "\n".join(f"  - {{id: {vm}}}" for vm in fake.vm_ids)
    policy = folder / "config.yaml"
    policy.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 30s{', ' if settings else ''}{settings}}}\n"
        + "".join(f"{line}\n" for line in lines)
        + f"vms:\n{listing}\nstate_dir: {state_dir}\n"
    )
    return policy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "HOSTINGER_API_TOKEN": TOKEN, **extra}


def proc_status(pid: int) -> dict[str, str]:
    """``/proc/PID/status`` as a mapping (empty once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Peaks:
    threads: int = 0
    rss_mib: float = 0.0


@contextlib.contextmanager
def sampled(pid: int, interval: float = 0.05) -> Iterator[Peaks]:
    """Sample the process's thread count and peak RSS (VmHWM) until the block ends."""
    peaks = Peaks()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            status = proc_status(pid)
            if "VmHWM" in status:  # not when it has exited
                peaks.threads = max(peaks.threads, int(status["Threads"]))
                hwm = int(status["VmHWM"].split()[0]) / 1024
                peaks.rss_mib = max(peaks.rss_mib, hwm)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peaks
    finally:
        done.set()
        sampler.join()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def timed(command: Sequence[str], repeat: int = 3) -> float:
    """The median wall time of running ``command`` (it must exit 0)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, env=environment(), capture_output=True)
        times.append(time.perf_counter() - started)
    return median(times)


def report(title: str, rows: Sequence[tuple[str, str, str]], summary: dict[str, Any]) -> None:
    """Print ``rows`` (figure, value, target) as a table, then ``summary`` as one JSON line."""
    width = max(len(row[0]) for row in rows)
    print(title)
    for figure, value, target in rows:
        print(f"  {figure:<{width}}  {value:>14}  {target}")
    print(json.dumps(summary, sort_keys=True))
