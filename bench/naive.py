"""The naive baseline: what a script without pacing does to the same rate-limited fake.

For each VM, on up to 32 threads and as fast as it can: create a snapshot, poll the
action every 0.2 s until it ends, read the snapshot. No budget, no retries: a 429 on the
create leaves that VM without a snapshot; a 429 on a poll is polled again.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import TOKEN, parse_window, start_fake

POLL_SECONDS = 0.2
THREADS = 32
FINAL_STATES = {"success", "error"}


def naive_run(options: argparse.Namespace) -> dict[str, Any]:
    """Snapshot ``options.vms`` VMs the naive way; count what the API answered."""
    window = parse_window(options.fixed_window)
    fake, note = start_fake(options.vms, options.action_seconds, window, None, options.retry_after)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    base = f"{fake.base_url}/api/vps/v1/virtual-machines"

    def snapshot(vm: int) -> bool:
        created = session.post(f"{base}/{vm}/snapshot", timeout=30)
        if created.status_code != 200:
            return False
        action = created.json()["id"]
        deadline = time.monotonic() + options.action_seconds * 10 + 30
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            polled = session.get(f"{base}/{vm}/actions/{action}", timeout=30)
            if polled.status_code == 200 and polled.json()["state"] in FINAL_STATES:
                break
        session.get(f"{base}/{vm}/snapshot", timeout=30)
        return True

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            accepted = sum(pool.map(snapshot, fake.vm_ids))
        elapsed = time.perf_counter() - started
        entries = fake.requests
        made = sum(1 for vm in fake.vm_ids if fake.snapshot_of(vm) is not None)
    finally:
        fake.stop()
    return {
        "limit": note,
        "requests": len(entries),
        "answers_429": sum(1 for entry in entries if entry.status == 429),
        "creates_accepted": accepted,
        "snapshots_made": made,
        "seconds": elapsed,
    }
