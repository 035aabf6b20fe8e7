"""Benchmark: a fleet whose slots all fall due at once progresses at the request budget's pace.

Starts the embedded fake API with N VMs, runs the real daemon in this process with a policy
whose current slot every VM has missed (so all N are due at the same moment), and measures
how long the fleet takes to reach N verified snapshots, the request rate achieved against
the configured budget, the threads used and the peak memory. Not part of the test suite.

    python bench/fleet.py --vms 1000 --requests-per-minute 30000 --action-seconds 10
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

from snapd.config import load_config
from snapd.daemon.assembly import build_daemon
from snapd.daemon.daemon import Daemon
from snapd.fakeapi import FakeHostinger
from snapd.logs import configure_logging
from snapd.pipeline.wait import PollSettings

TOKEN = "bench-token"


def successes(daemon: Daemon) -> float:
    registry = daemon.metrics.registry
    total = 0.0
    for family in registry.collect():
        if family.name == "snapd_snapshot_attempts":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") == "success":
                    total += sample.value
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--requests-per-minute", type=int, default=30000)
    parser.add_argument("--action-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--stop-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop the daemon this long after start and report how long stopping took",
    )
    options = parser.parse_args()
    configure_logging("json", "error")

    fake = FakeHostinger(token=TOKEN, vm_count=options.vms, action_seconds=options.action_seconds)
    fake.start("127.0.0.1", 0)
    with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
        state_dir = Path(folder) / "state"
        state_dir.mkdir()
        listing = "\n".join(f"  - {{id: {vm}}}" for vm in fake.vm_ids)
        policy = Path(folder) / "config.yaml"
        policy.write_text(
            f"api: {{base_url: '{fake.base_url}', timeout: 30s, "
            f"requests_per_minute: {options.requests_per_minute}}}\n"
            'defaults: {schedule: "0 * * * *", protect_manual: 0s}\n'
            f"vms:\n{listing}\n"
            "metrics: {listen: '127.0.0.1:0'}\n"
            f"state_dir: {state_dir}\n"
        )
        loading_started = time.perf_counter()
        config = load_config(policy)
        loading_seconds = time.perf_counter() - loading_started
        poll = PollSettings(first_delay=options.action_seconds * 0.8, maximum_delay=30.0)
        daemon = build_daemon(policy, config, token=TOKEN, poll=poll)
        runner = threading.Thread(target=daemon.run, kwargs={"run_for": options.timeout})
        started = time.monotonic()
        runner.start()
        peak_threads = 0
        half_done_at = None
        limit = options.stop_after if options.stop_after is not None else options.timeout
        while time.monotonic() - started < limit:
            done = successes(daemon)
            peak_threads = max(peak_threads, threading.active_count())
            if half_done_at is None and done >= options.vms / 2:
                half_done_at = time.monotonic() - started
            if done >= options.vms:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        done = successes(daemon)
        posts_at_stop = fake.count("POST", "/snapshot")
        stopping_started = time.monotonic()
        daemon.request_stop()
        runner.join(timeout=30)
        stopping_seconds = time.monotonic() - stopping_started
    requests_sent = len(fake.requests)
    posts = fake.count("POST", "/snapshot")
    fake.stop()
    budget_seconds = requests_sent / (options.requests_per_minute / 60)
    peak_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"vms                         {options.vms}")
    print(f"policy load + validation    {loading_seconds:.2f} s")
    print(f"verified snapshots          {done:.0f} of {options.vms} (creates sent: {posts})")
    print(f"time to half / all          {half_done_at or float('nan'):.1f} s / {elapsed:.1f} s")
    print(f"requests sent               {requests_sent} ({requests_sent / options.vms:.1f} per VM)")
    print(
        f"achieved request rate       {requests_sent / elapsed * 60:.0f}/min "
        f"(budget {options.requests_per_minute}/min)"
    )
    print(
        f"budget-bound lower limit    {budget_seconds:.1f} s"
        f" + one action ({options.action_seconds:.0f} s)"
    )
    print(f"peak threads                {peak_threads}")
    print(f"peak memory (RSS)           {peak_memory:.0f} MiB (daemon and fake API together)")
    print(
        f"stopping took               {stopping_seconds:.2f} s "
        f"(creates sent after the stop request: {posts - posts_at_stop})"
    )


if __name__ == "__main__":
    main()
