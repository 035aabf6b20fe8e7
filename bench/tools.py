"""Benchmark: ``snapd config validate`` and ``snapd plan`` on a large policy.

Writes a policy of ``--vms`` VMs whose schedules are all different (minute, hour, days of
the month, months, weekdays and time zones vary) and times both commands as child
processes, median of ``--repeat``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/tools.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SNAPD, report, timed

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
DAYS = ["*", "*", "*", "1-15", "*/2", "1,10,20"]
WEEKDAYS = ["*", "*", "1-5", "0,6", "mon-fri", "sat,sun"]
MONTHS = ["*", "*", "*", "1-6,7-12", "*/1"]


def distinct_schedules(count: int, seed: int = 12) -> list[str]:
    """``count`` different cron lines that all fire at least every few days."""
    chosen = random.Random(seed)
    lines: set[str] = set()
    while len(lines) < count:
        minutes = ",".join(str(minute) for minute in sorted(chosen.sample(range(60), 2)))
        hours = chosen.choice(["*/6", "*/4", str(chosen.randrange(24)), "1-23/2"])
        line = f"{minutes} {hours} {chosen.choice(DAYS)} {chosen.choice(MONTHS)} "
        lines.add(line + chosen.choice(WEEKDAYS))
    return sorted(lines)


def write_policy(folder: Path, count: int) -> Path:
    vms = [
        f'  - id: {1000 + index}\n    name: vm-{index}\n    schedule: "{line}"\n'
        f"    timezone: {ZONES[index % len(ZONES)]}\n"
        for index, line in enumerate(distinct_schedules(count))
    ]
    policy = folder / "config.yaml"
    policy.write_text(
        "api: {base_url: 'https://developers.hostinger.com', requests_per_minute: 6000}\n"
        "defaults: {jitter: 5m, snapshot_lifetime: 20d}\n"
        f"state_dir: {folder}\n"
        "vms:\n" + "".join(vms)
    )
    return policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
        policy = write_policy(Path(folder), options.vms)
        validate = timed([*SNAPD, "-c", str(policy), "config", "validate"], options.repeat)
        plan = timed([*SNAPD, "-c", str(policy), "plan"], options.repeat)
        startup = timed([sys.executable, "-c", "pass"], options.repeat)
    rows = [
        ("config validate", f"{validate:.2f} s", "<= 0.5 s at 1000 VMs"),
        ("plan (5 slots per VM)", f"{plan:.2f} s", "<= 1 s at 1000 VMs"),
        ("python start-up alone", f"{startup:.2f} s", ""),
    ]
    report(
        f"tools: {options.vms} VMs with distinct schedules, median of {options.repeat}",
        rows,
        {"vms": options.vms, "validate_seconds": validate, "plan_seconds": plan},
    )


if __name__ == "__main__":
    main()
