"""Benchmark: ``snapd simulate`` at fleet size, in simulated VM-days per second.

Runs the simulation in this process (one core) for ``--vms`` VMs on a daily schedule
spread by jitter, for ``--days`` with the ``--faults`` preset, and prints the wall time,
simulated VM-days per second, peak RSS, and whether any invariant broke. Targets: 100 VMs
x 90 days ``typical`` in ≤ 60 s; 1000 VMs x 30 days in ≤ 120 s and ≤ 200 MB.

Not part of the test suite. ``python bench/simulate.py --vms 100 --days 90``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/simulate.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snapd.cli.commands.simulate import DEFAULT_START, simulate
from snapd.config import load_config
from snapd.logs import configure_logging


def write_policy(folder: Path, count: int) -> Path:
    """``count`` VMs, daily at 03:00 with 30 minutes of jitter, each with a health check."""
    vms = "\n".join(f"  - id: {5000 + index}\n    name: vm-{index}" for index in range(count))
    path = folder / "policy.yaml"
    path.write_text(
        "api:\n  base_url: https://developers.hostinger.com\n  requests_per_minute: 600\n"
        'defaults:\n  schedule: "0 3 * * *"\n  jitter: 30m\n'
        "  health_check:\n    url: https://example.com/healthz\n"
        f"vms:\n{vms}\n",
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--faults", default="typical")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args(argv)
    configure_logging("auto", "error")
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_policy(Path(folder), arguments.vms), offline=True)
        started = time.perf_counter()
        report = simulate(
            config,
            days=arguments.days,
            seed=arguments.seed,
            faults=arguments.faults,
            start=datetime.fromisoformat(DEFAULT_START),
        )
        wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    vm_days = arguments.vms * arguments.days
    print(
        f"{arguments.vms} VMs x {arguments.days} days ({arguments.faults}): {wall:.1f} s wall, "
        f"{vm_days / wall:.0f} VM-days/s, peak RSS {peak_kib / 1024:.0f} MB, "
        f"{len(report['breaches'])} invariant breaches"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
