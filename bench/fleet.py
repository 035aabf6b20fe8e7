"""Benchmark: a whole fleet snapshotted at once against a rate-limited API.

1. ``snapd once --all`` in a child process against the embedded fake API with a fixed
   window (default 1000 requests per 10 s, R = 6000/min) and 2-second actions, median of
   ``--repeat`` runs: API calls per verified snapshot, makespan and efficiency (ideal =
   4 calls x N / R), 429 answers, CPU (user+sys) of the child, its peak threads and RSS.
2. The daemon in a process of its own with 5-minute actions, the fake and the daemon
   sharing one ``ManualClock`` that advances in steps: peak threads and RSS (the fake's
   included) while every VM waits for its action.
3. A naive script on the same fake, for contrast: create, poll every 0.2 s, read the
   snapshot, one thread per VM up to 32, no pacing, no retries: 429s, creates that got
   through, snapshots made.

With ``--accounts N``: N accounts side by side, each with ``--vms`` VMs behind its own
limit, and a 429 storm in one (see ``bench/accounts.py``).

Not part of the test suite. Quick check: ``python bench/fleet.py --vms 50 --repeat 1``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python bench/fleet.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.accounts import accounts_main
from bench.common import (
    SNAPD,
    environment,
    median,
    parse_window,
    per_minute,
    report,
    sampled,
    start_fake,
    write_policy,
)
from bench.naive import naive_run
from bench.slow_actions import slow_actions_command

CALLS_PER_SNAPSHOT = 4


def once_all(options: argparse.Namespace) -> dict[str, Any]:
    """One ``snapd once --all`` run in a child process; its figures."""
    window = parse_window(options.fixed_window)
    fake, note = start_fake(options.vms, options.action_seconds, window, None, options.retry_after)
    try:
        with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
            policy = write_policy(
                Path(folder),
                fake,
                ['defaults: {schedule: "0 3 * * *", protect_manual: 0s}', "log: {format: json}"],
                requests_per_minute=round(per_minute(window)),
            )
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            with (Path(folder) / "once.log").open("w") as output:
                child = subprocess.Popen(
                    [*SNAPD, "-c", str(policy), "once", "--all"],
                    env=environment(),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
                with sampled(child.pid) as peaks:
                    code = child.wait(timeout=options.timeout)
            makespan = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        requests = fake.requests
        made = sum(1 for vm in fake.vm_ids if fake.snapshot_of(vm) is not None)
    finally:
        fake.stop()
    ideal = CALLS_PER_SNAPSHOT * options.vms / per_minute(window) * 60
    return {
        "exit_code": code,
        "limit": note,
        "verified": made if code == 0 else 0,
        "snapshots_made": made,
        "requests": len(requests),
        "calls_per_snapshot": len(requests) / max(made, 1),
        "makespan_seconds": makespan,
        "ideal_seconds": ideal,
        "efficiency": ideal / makespan,
        "answers_429": sum(1 for request in requests if request.status == 429),
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_threads": peaks.threads,
        "peak_rss_mib": peaks.rss_mib,
    }


def slow_actions(options: argparse.Namespace) -> dict[str, Any]:
    """The manual-clock run, in a process of its own so that its peaks are its own."""
    command = slow_actions_command(options.slow_vms, options.slow_action_seconds, options.timeout)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--fixed-window", default="1000/10", metavar="N/SECONDS")
    parser.add_argument(
        "--retry-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the Retry-After the fake answers with a 429 (default: the fake's own)",
    )
    parser.add_argument("--action-seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--slow-vms", type=int, default=None, help="default: --vms")
    parser.add_argument("--slow-action-seconds", type=float, default=300.0)
    parser.add_argument("--skip-slow", action="store_true", help="skip the manual-clock run")
    parser.add_argument("--skip-naive", action="store_true", help="skip the naive script")
    parser.add_argument(
        "--accounts", type=int, default=0, metavar="N", help="N accounts of --vms VMs each"
    )
    parser.add_argument(
        "--account-window", default="500/10", metavar="N/SECONDS", help="each account's limit"
    )
    options = parser.parse_args()
    if options.accounts:
        accounts_main(options)
        return
    options.slow_vms = options.slow_vms or options.vms

    runs = [once_all(options) for _ in range(options.repeat)]
    figures = {
        key: median([run[key] for run in runs])
        for key in runs[0]
        if isinstance(runs[0][key], int | float)
    }
    figures["limit"] = runs[0]["limit"]
    slow = {} if options.skip_slow else slow_actions(options)
    naive = {} if options.skip_naive else naive_run(options)
    n = options.vms
    rows = [
        ("verified snapshots", f"{figures['verified']:.0f} of {n}", f"{n}"),
        ("API calls per verified snapshot", f"{figures['calls_per_snapshot']:.2f}", "<= 4.2"),
        ("makespan", f"{figures['makespan_seconds']:.1f} s", ""),
        ("ideal (4 calls x N / R)", f"{figures['ideal_seconds']:.1f} s", ""),
        ("efficiency (ideal / makespan)", f"{figures['efficiency']:.2f}", ">= 0.9"),
        ("429 answers", f"{figures['answers_429']:.0f}", ""),
        ("CPU user+sys", f"{figures['cpu_seconds']:.1f} s", "<= 10 s at N=1000"),
        ("peak threads", f"{figures['peak_threads']:.0f}", "<= 64"),
        ("peak RSS", f"{figures['peak_rss_mib']:.0f} MiB", ""),
    ]
    if slow:
        rows += [
            (
                f"{options.slow_action_seconds:g} s actions: all verified",
                str(slow.get("verified")),
                "",
            ),
            ("  peak threads (daemon + fake)", str(slow.get("peak_threads")), "<= 64"),
            ("  peak RSS (daemon + fake)", f"{slow.get('peak_rss_mib', 0):.0f} MiB", "<= 100 MB"),
        ]
    if naive:
        rows += [
            ("naive script: 429 answers", str(naive["answers_429"]), ""),
            ("  creates that got through", f"{naive['creates_accepted']} of {n}", ""),
            ("  snapshots made", f"{naive['snapshots_made']} of {n}", ""),
        ]
    title = f"fleet: {n} VMs, {options.action_seconds:g} s actions, median of {options.repeat}"
    report(title, rows, {"once_all": figures, "slow_actions": slow, "naive": naive, "vms": n})


if __name__ == "__main__":
    main()
