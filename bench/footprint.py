"""Benchmark: the idle daemon at fleet size, and how late the scheduler fires.

1. ``snapd run`` in a child process with ``--vms`` VMs and nothing due (a daily slot
   hours away, fresh snapshots, a short catch-up window): time from process start to
   ``READY=1`` on its sd_notify socket; once the start-up sweep is over (the fake has seen
   no request for 2 s), RSS, threads and CPU % over ``--idle-seconds``; then the
   ``/metrics`` scrape time (median of 20) and the series per VM.
2. Scheduler lateness: ``--lateness-vms`` VMs on ``* * * * *`` with ``jitter: 0`` in dry
   run; for the first ``--fires`` fires, the ``run_started`` log line's time minus its
   slot; the p99 of that must stay within 1 s.

Not part of the test suite. Quick check:
``python bench/footprint.py --vms 50 --idle-seconds 5 --lateness-vms 20 --fires 20``.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python bench/footprint.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    SNAPD,
    cpu_seconds,
    environment,
    free_port,
    median,
    proc_status,
    report,
    start_fake,
    write_policy,
)
from snapd.fakeapi import FakeHostinger

QUIET_SECONDS = 2.0


def _quiet(fake: FakeHostinger, limit: float) -> float:
    """Wait until the fake has seen no request for ``QUIET_SECONDS``; the wait's length."""
    started = time.monotonic()
    seen, since = -1, time.monotonic()
    while time.monotonic() - started < limit:
        count = len(fake.requests)
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS:
            break
        time.sleep(0.1)
    return time.monotonic() - started - QUIET_SECONDS


def _scrape(url: str) -> tuple[float, str]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        text = answer.read().decode()
    return time.perf_counter() - started, text


def idle(options: argparse.Namespace) -> dict[str, Any]:
    fake, _ = start_fake(options.vms, 2.0, None)
    now = datetime.now(UTC)
    for vm in fake.vm_ids:
        fake.set_snapshot(vm, now - timedelta(hours=1))
    hour = (now + timedelta(hours=3)).hour
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
        policy = write_policy(
            Path(folder),
            fake,
            [
                f'defaults: {{schedule: "0 {hour} * * *", catch_up: 1h, protect_manual: 0s}}',
                f"metrics: {{listen: '127.0.0.1:{port}'}}",
                "log: {format: json, level: warning}",
            ],
            requests_per_minute=options.requests_per_minute,
        )
        notify_path = Path(folder) / "notify.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(notify_path))
            notify.settimeout(options.timeout)
            started = time.perf_counter()
            child = subprocess.Popen(
                [*SNAPD, "-c", str(policy), "run"],
                env=environment(NOTIFY_SOCKET=str(notify_path)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while b"READY=1" not in notify.recv(4096):
                    pass
                ready = time.perf_counter() - started
                sweep = _quiet(fake, options.timeout)
                cpu_before, idle_started = cpu_seconds(child.pid), time.monotonic()
                time.sleep(options.idle_seconds)
                cpu = cpu_seconds(child.pid) - cpu_before
                cpu_percent = cpu / (time.monotonic() - idle_started) * 100
                status = proc_status(child.pid)
                url = f"http://127.0.0.1:{port}/metrics"
                scrapes = [_scrape(url) for _ in range(20)]
            finally:
                child.terminate()
                child.wait(timeout=60)
    requests = len(fake.requests)
    fake.stop()
    text = scrapes[-1][1]
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {
        "ready_seconds": ready,
        "startup_sweep_seconds": sweep,
        "startup_requests_per_vm": requests / options.vms,
        "idle_rss_mib": int(status["VmRSS"].split()[0]) / 1024,
        "idle_threads": int(status["Threads"]),
        "idle_cpu_percent": cpu_percent,
        "idle_seconds": options.idle_seconds,
        "scrape_seconds": median([seconds for seconds, _ in scrapes]),
        "scrape_bytes": len(text.encode()),
        "series": len(series),
        "series_per_vm": len(series) / options.vms,
        "series_with_vm_label_per_vm": sum('vm="' in line for line in series) / options.vms,
    }


def lateness(options: argparse.Namespace) -> dict[str, Any]:
    fake, _ = start_fake(options.lateness_vms, 0.5, None)
    with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
        policy = write_policy(
            Path(folder),
            fake,
            [
                'defaults: {schedule: "* * * * *", jitter: 0s, protect_manual: 0s}',
                "metrics: {listen: '127.0.0.1:0'}",
                "log: {format: json, level: info}",
            ],
            requests_per_minute=60000,
        )
        log_path = Path(folder) / "run.log"
        late: list[float] = []
        with log_path.open("w") as log:
            child = subprocess.Popen(
                [*SNAPD, "-c", str(policy), "run", "--dry-run"],
                env=environment(),
                stdout=log,
                stderr=log,
            )
            deadline = time.monotonic() + options.timeout
            try:
                while len(late) < options.fires and time.monotonic() < deadline:
                    time.sleep(1)
                    late = _lateness_in(log_path)
            finally:
                child.terminate()
                child.wait(timeout=60)
    fake.stop()
    late = sorted(late[: options.fires])
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))] if late else float("nan")
    return {"fires": len(late), "p99_seconds": p99, "max_seconds": max(late, default=float("nan"))}


def _lateness_in(log_path: Path) -> list[float]:
    """Fire time minus slot of every scheduled ``run_started`` line, in log order."""
    late = []
    for line in log_path.read_text().splitlines():
        if '"run_started"' not in line:
            continue
        event = json.loads(line)
        if event.get("purpose") != "scheduled" or not event.get("slot"):
            continue
        fired = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        slot = datetime.fromisoformat(str(event["slot"]).replace("Z", "+00:00"))
        late.append((fired - slot).total_seconds())
    return late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument(
        "--requests-per-minute",
        type=int,
        default=6000,
        help="the idle daemon's budget; the start-up sweep takes a share of it",
    )
    parser.add_argument("--lateness-vms", type=int, default=200)
    parser.add_argument("--fires", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0)
    options = parser.parse_args()

    quiet = idle(options)
    timing = lateness(options)
    rows = [
        ("time to ready (READY=1)", f"{quiet['ready_seconds']:.2f} s", "<= 1.5 s"),
        ("start-up sweep", f"{quiet['startup_sweep_seconds']:.1f} s", ""),
        ("start-up requests per VM", f"{quiet['startup_requests_per_vm']:.2f}", ""),
        ("idle RSS", f"{quiet['idle_rss_mib']:.0f} MiB", "<= 60 MB"),
        ("idle threads", str(quiet["idle_threads"]), "<= 64"),
        (
            f"idle CPU over {options.idle_seconds:g} s",
            f"{quiet['idle_cpu_percent']:.2f} %",
            "<= 0.5 %",
        ),
        ("/metrics scrape (median of 20)", f"{quiet['scrape_seconds'] * 1000:.0f} ms", "<= 50 ms"),
        ("/metrics size", f"{quiet['scrape_bytes'] / 1e6:.2f} MB", ""),
        ("series per VM", f"{quiet['series_per_vm']:.1f}", "<= 12"),
        (
            f"scheduler lateness p99 ({timing['fires']} fires)",
            f"{timing['p99_seconds']:.3f} s",
            "<= 1 s",
        ),
    ]
    report(
        f"footprint: {options.vms} VMs idle; lateness with {options.lateness_vms} VMs",
        rows,
        {"idle": quiet, "lateness": timing, "vms": options.vms},
    )


if __name__ == "__main__":
    main()
