"""The benchmark scripts stay importable, and the large policy they time stays valid.

The benchmarks themselves run outside the suite (``python bench/fleet.py`` and friends):
they take minutes and their figures depend on the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import (
    common,
    deadlines,
    fleet,
    footprint,
    naive,
    notify_stream,
    pg_sessions,
    simulate,
    slow_actions,
    tools,
)
from snapd.config import load_config


def test_every_benchmark_has_a_main_or_a_runner() -> None:
    assert callable(fleet.main) and callable(footprint.main) and callable(tools.main)
    assert callable(naive.naive_run) and callable(slow_actions.main)
    assert callable(notify_stream.main) and callable(pg_sessions.main)
    assert callable(deadlines.main) and callable(simulate.main)


def test_a_fixed_window_reads_as_requests_per_seconds() -> None:
    assert common.parse_window("1000/10") == (1000, 10.0)
    assert common.per_minute((1000, 10.0)) == 6000


def test_the_tools_benchmark_policy_has_distinct_schedules_and_is_valid(tmp_path: Path) -> None:
    policy = tools.write_policy(tmp_path, 60)

    config = load_config(policy, offline=True)

    assert len({vm.schedule for vm in config.vms}) == 60


def test_the_simulation_benchmark_prints_wall_time_vm_days_per_second_and_peak_rss(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert simulate.main(["--vms", "3", "--days", "2", "--faults", "none"]) == 0

    printed = capsys.readouterr().out
    assert re.search(
        r"3 VMs x 2 days \(none\): [\d.]+ s wall, \d+ VM-days/s, peak RSS \d+ MB", printed
    )
    assert "0 invariant breaches" in printed
