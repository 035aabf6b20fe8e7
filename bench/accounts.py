"""Benchmark part of ``bench/fleet.py --accounts N``: several accounts side by side.

``snapd once --all`` in a child process against the fake API with N accounts (one token
each, ``--vms`` VMs each, each behind its own fixed window of ``--account-window``). Per
account: makespan (from the start to its last request), ideal (4 calls x VMs / its rate)
and efficiency. Then the 429 storm: the first account answers half its requests with 429
while the second runs beside it; the second's makespan is compared with its makespan when
it runs alone.

Not part of the test suite. Quick check:
``python bench/fleet.py --accounts 2 --vms 50 --account-window 100/10``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import SNAPD, environment, parse_window, per_minute, report
from snapd.fakeapi.accounts import FakeAccount, FakeAccounts
from snapd.fakeapi.faults import Fault

CALLS_PER_SNAPSHOT = 4
# Far apart, so that every account's ids are its own.
ID_STRIDE = 10_000_000


# The 429 storm: half the storming account's requests are refused (each with
# ``Retry-After: 1``) for the whole run.
STORM = Fault(kind="status", status=429, probability=0.5, count=None)


def _write_policy(folder: Path, fakes: FakeAccounts, names: list[str], rate: float) -> Path:
    """A policy with every VM of the accounts ``names``, each token in a file."""
    accounts, listing = [], []
    for name in names:
        token_file = folder / f"{name}.token"
        token_file.write_text(fakes[name].token)
        token_file.chmod(0o600)
        accounts.append(
            f"  - {{name: {name}, token_file: {token_file}, requests_per_minute: {rate:.0f}}}"
        )
        listing += [f"  - {{id: {vm}, account: {name}}}" for vm in fakes[name].vm_ids]
    (folder / "state").mkdir(exist_ok=True)
    policy = folder / "config.yaml"
    policy.write_text(
        f"api: {{base_url: '{fakes.base_url}', timeout: 30s}}\n"
        "accounts:\n" + "\n".join(accounts) + "\n"
        'defaults: {schedule: "0 3 * * *", protect_manual: 0s}\n'
        "log: {format: json}\n"
        "vms:\n" + "\n".join(listing) + f"\nstate_dir: {folder / 'state'}\n"
    )
    return policy


def _wait(
    child: subprocess.Popen[bytes], log: Path, watched: tuple[str, int] | None, timeout: float
) -> None:
    """Wait for ``child`` to end; with ``watched`` (an account's name and VM count), only
    until its log at ``log`` has a finished snapshot for each of that account's VMs (the
    storming account may take long to get through, and is not what is measured)."""
    deadline = time.monotonic() + timeout
    while child.poll() is None and time.monotonic() < deadline:
        if watched is not None and _finished(log, watched[0]) >= watched[1]:
            break
        time.sleep(0.2)
    if child.poll() is None:
        child.terminate()
        child.wait(timeout=30)


def _finished(log: Path, account: str) -> int:
    """How many VMs of ``account`` have a ``snapshot_finished`` line in the ``once`` log."""
    finished = set()
    for line in log.read_text().splitlines():
        if '"snapshot_finished"' in line and f'"account": "{account}"' in line:
            finished.add(json.loads(line)["vm"])
    return len(finished)


def run_accounts(
    options: argparse.Namespace, count: int, *, storm: bool = False, only: str | None = None
) -> dict[str, dict[str, Any]]:
    """One ``once --all`` over ``count`` accounts (just ``only`` in the policy if given);
    with ``storm``, the first account answers in a 429 storm (``STORM``) and the run ends
    once the last account is through. Per account:
    its figures."""
    window = parse_window(options.account_window)
    rate = per_minute(window)
    names = [f"account-{index + 1}" for index in range(count)]
    fakes = FakeAccounts(
        [
            FakeAccount(name, f"token-{name}", options.vms, ID_STRIDE * (index + 1), None, window)
            for index, name in enumerate(names)
        ],
        action_seconds=options.action_seconds,
    )
    if storm:
        fakes[names[0]].inject(STORM)
    fakes.start()
    try:
        with tempfile.TemporaryDirectory(prefix="snapd-bench-") as folder:
            policy = _write_policy(Path(folder), fakes, [only] if only else names, rate)
            started = fakes[names[0]].clock.now()
            with (Path(folder) / "once.log").open("w") as output:
                command = [*SNAPD, "-c", str(policy), "once", "--all"]
                child = subprocess.Popen(
                    command, env=environment(), stdout=output, stderr=subprocess.STDOUT
                )
                watched = (names[-1], options.vms) if storm else None
                _wait(child, Path(output.name), watched, options.timeout)
        figures = {}
        for name in [only] if only else names:
            requests = fakes[name].requests
            makespan = (requests[-1].at - started).total_seconds() if requests else 0.0
            made = sum(1 for vm in fakes[name].vm_ids if fakes[name].snapshot_of(vm) is not None)
            ideal = CALLS_PER_SNAPSHOT * options.vms / rate * 60
            figures[name] = {
                "snapshots_made": made,
                "makespan_seconds": makespan,
                "ideal_seconds": ideal,
                "efficiency": ideal / makespan if makespan else 0.0,
                "answers_429": sum(1 for request in requests if request.status == 429),
            }
        return figures
    finally:
        fakes.stop()


def accounts_main(options: argparse.Namespace) -> None:
    """Print the side-by-side figures, then the 429 storm's, as a table and a JSON line."""
    side_by_side = run_accounts(options, options.accounts)
    alone = run_accounts(options, 2, only="account-2")["account-2"]
    beside_storm = run_accounts(options, 2, storm=True)
    rows = []
    for name, figures in side_by_side.items():
        rows += [
            (f"{name}: verified snapshots", f"{figures['snapshots_made']} of {options.vms}", ""),
            (
                f"  makespan (ideal {figures['ideal_seconds']:.1f} s)",
                f"{figures['makespan_seconds']:.1f} s",
                "",
            ),
            ("  efficiency (ideal / makespan)", f"{figures['efficiency']:.2f}", ">= 0.9"),
        ]
    storm = beside_storm["account-2"]
    ratio = storm["makespan_seconds"] / alone["makespan_seconds"]
    rows += [
        (
            "429 storm on account-1: its 429 answers",
            str(beside_storm["account-1"]["answers_429"]),
            "",
        ),
        ("account-2 alone: makespan", f"{alone['makespan_seconds']:.1f} s", ""),
        ("account-2 beside the storm: makespan", f"{storm['makespan_seconds']:.1f} s", ""),
        ("  beside / alone", f"{ratio:.2f}", "<= 1.10"),
    ]
    title = (
        f"fleet: {options.accounts} accounts x {options.vms} VMs, each at "
        f"{options.account_window}, {options.action_seconds:g} s actions"
    )
    summary = {"side_by_side": side_by_side, "alone": alone, "beside_storm": beside_storm}
    report(title, rows, {**summary, "storm_ratio": ratio})
