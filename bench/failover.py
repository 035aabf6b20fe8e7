"""Benchmark: how soon two replicas on PostgreSQL have one leader again after a failure.

Starts a throwaway PostgreSQL cluster and, for each run, a fake API process and two
``snapd run`` replicas on a fresh database, with the default leadership retry interval.
Measures, median and max over ``--repeat`` runs: the takeover after ``kill -9`` of the
leader in the middle of a slow create, the takeover after ``pg_terminate_backend`` of the
leader's leadership session, and the time from PostgreSQL accepting connections again
after a restart until exactly one replica reports ``snapd_leader 1``; and that the fake
API saw one create in all. Prints a table, then one JSON line. Not part of the test suite.

    python bench/failover.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The shared test support (a throwaway cluster, replicas and the fake API as processes).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snapd.ledger import advisory
from snapd.ledger.leadership import RETRY_SECONDS
from snapd.runtime import LEADERSHIP_RETRY_VARIABLE
from tests.support.daemon import DaemonProcess, kill_while_sending
from tests.support.postgres import PostgresCluster, find_binaries, throwaway_cluster
from tests.support.replica import (
    SLOW_PRE_HOOK,
    VM,
    create_actions,
    fake_api_process,
    finish,
    leader,
    lock_holders,
    start_pair,
)

BOUND_SECONDS = 15.0
WAIT_SECONDS = 60.0
Run = dict[str, Any]


def since(event: dict[str, Any], moment: datetime) -> float:
    """Seconds from ``moment`` to a log event's timestamp."""
    return (datetime.fromisoformat(event["timestamp"]) - moment).total_seconds()


def kill_leader(cluster: PostgresCluster, folder: Path, api: str) -> Run:
    """``kill -9`` of the leader while its create waits for the API's answer."""
    replicas = start_pair(folder, api, cluster.new_database(), timeout=WAIT_SECONDS)
    first, second = replicas
    try:
        kill_while_sending(first, WAIT_SECONDS)  # the fake API answers 2 s after it arrives
        killed = datetime.now(UTC)
        taken = second.wait_for("leadership_acquired", timeout=WAIT_SECONDS)
        second.wait_for("snapshot_finished", timeout=WAIT_SECONDS, vm=VM)
    finally:
        finish(*replicas)
    return {"seconds": since(taken, killed), "creates": create_actions(api)}


def terminate_backend(cluster: PostgresCluster, folder: Path, api: str) -> Run:
    """``pg_terminate_backend`` of the leader's leadership session, found in ``pg_locks``,
    while a slow pre-hook holds the leader just before its create."""
    dsn = cluster.new_database()
    replicas = start_pair(folder, api, dsn, SLOW_PRE_HOOK, WAIT_SECONDS)
    first, second = replicas
    try:
        first.wait_for("run_started", timeout=WAIT_SECONDS, vm=VM)
        holders = lock_holders(cluster, dsn)
        assert [row[1].rpartition(":")[2] for row in holders] == [str(first.process.pid)]
        cluster.execute("SELECT pg_terminate_backend(%s)", holders[0][0])
        terminated = datetime.now(UTC)
        taken = second.wait_for("leadership_acquired", timeout=WAIT_SECONDS)
        lost = first.wait_for("leadership_lost", timeout=WAIT_SECONDS)
        second.wait_for("snapshot_finished", timeout=WAIT_SECONDS, vm=VM, result="success")
    finally:
        finish(*replicas)
    assert first.count("leadership_acquired") == 1, "the old leader led again"
    return {
        "seconds": since(taken, terminated),
        "old_leader_stood_down_seconds": since(lost, terminated),
        "old_leader_creates": first.count("snapshot_requested"),
        "creates": create_actions(api),
    }


def steady_leader(replicas: list[DaemonProcess], before: list[int]) -> list[float | None]:
    """Wait until exactly one replica reports ``snapd_leader 1`` with a lock taken since
    ``before`` (counts of acquisitions), and still does a retry interval later."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        roles = leader(*replicas)
        one = roles.index(1.0) if sorted(roles, key=str) == [0.0, 1.0] else None
        if one is not None and replicas[one].count("leadership_acquired") > before[one]:
            time.sleep(RETRY_SECONDS + 1.0)  # both have had their turns at the lock
            if leader(*replicas) == roles:
                return roles
        time.sleep(0.1)
    raise AssertionError(f"no single leader after the restart: {leader(*replicas)}")


def restart_database(cluster: PostgresCluster, folder: Path, api: str) -> Run:
    """``pg_ctl stop -m immediate`` and ``start -w`` under both replicas, after the slot."""
    replicas = start_pair(folder, api, cluster.new_database(), timeout=WAIT_SECONDS)
    try:
        replicas[0].wait_for("snapshot_finished", timeout=WAIT_SECONDS, vm=VM)
        before = [replica.count("leadership_acquired") for replica in replicas]
        stopped = time.monotonic()
        cluster.restart()
        accepting, accepting_at = time.monotonic(), datetime.now(UTC)
        settled = steady_leader(replicas, before)
        alive = all(replica.process.poll() is None for replica in replicas)
    finally:
        finish(*replicas)
    assert alive, "a replica died"
    # One leader from its last acquisition on (a first one may have been given up again).
    final = replicas[settled.index(1.0)]
    last = [event for event in final.events if event.get("event") == "leadership_acquired"][-1]
    return {
        "seconds": since(last, accepting_at),
        "database_down_seconds": accepting - stopped,
        "acquisitions": sum(
            r.count("leadership_acquired") - n for r, n in zip(replicas, before, strict=True)
        ),
        "creates": create_actions(api),
    }


SCENARIOS: dict[str, tuple[str, Callable[[PostgresCluster, Path, str], Run]]] = {
    "kill_9": ("takeover after kill -9 of the leader", kill_leader),
    "terminate_backend": ("takeover after pg_terminate_backend", terminate_backend),
    "postgresql_restart": ("one leader again after PostgreSQL restart", restart_database),
}
#: Further figures of a run, shown under the table: (scenario, key, title).
DETAILS = [
    ("terminate_backend", "old_leader_stood_down_seconds", "old leader stands down after (s)"),
    ("postgresql_restart", "database_down_seconds", "database down during the restart (s)"),
    ("postgresql_restart", "acquisitions", "locks taken until one leader held (count)"),
]
#: A dead host's session ends within the keepalive bound; the standby's next try follows.
DEAD_HOST_SECONDS = advisory.SESSION_END_BOUND_SECONDS + RETRY_SECONDS


def measure(cluster: PostgresCluster, scenario: str) -> Run:
    """One run in a folder of its own; a failed check is a run with ``error``."""
    with tempfile.TemporaryDirectory(prefix="snapd-failover-") as name:
        folder = Path(name)
        try:
            with fake_api_process(folder) as api:
                run = SCENARIOS[scenario][1](cluster, folder, api)
        except (AssertionError, OSError) as error:
            return {"error": " ".join(str(error)[-600:].split())}
    problems = []
    if run["creates"] != 1:
        problems.append(f"{run['creates']} creates")
    if run.get("old_leader_creates"):
        problems.append("the old leader sent a create")
    if problems:
        run["error"] = ", ".join(problems)
    return run


def summary(runs: list[Run]) -> dict[str, Any]:
    """Median and max of a figure's runs, each run's other figures, and the failures."""
    figures = [run["seconds"] for run in runs if "seconds" in run]
    result: dict[str, Any] = {
        "median": round(statistics.median(figures), 2) if figures else None,
        "max": round(max(figures), 2) if figures else None,
        "runs": [round(figure, 2) for figure in figures],
        "creates": [run.get("creates") for run in runs],
        "errors": [run["error"] for run in runs if "error" in run],
    }
    for key in sorted({key for run in runs for key in run} - {*result, "seconds", "error"}):
        result[key] = [round(run[key], 2) for run in runs if key in run]
    return result


def print_table(results: dict[str, dict[str, Any]], repeat: int) -> None:
    print(f"leadership retry {RETRY_SECONDS:.1f} s (default); {repeat} runs each")
    print(f"{'figure':44} {'median':>8} {'max':>8}  runs (s); creates seen by the API")
    for name, (title, _) in SCENARIOS.items():
        result = results[name]
        shown = " / ".join(f"{figure:.2f}" for figure in result["runs"])
        print(
            f"{title:44} {result['median'] or 0:7.2f}s {result['max'] or 0:7.2f}s  "
            f"{shown}; creates {result['creates']}"
        )
    for name, key, title in DETAILS:
        values = results[name].get(key) or [0.0]
        print(f"  {title:42} {statistics.median(values):7.2f}  {max(values):7.2f}   {values}")
    print(
        f"{'dead host bound (configured)':44} {DEAD_HOST_SECONDS:7.2f}s          session ends "
        f"<= {advisory.SESSION_END_BOUND_SECONDS} s (keepalive idle "
        f"{advisory.KEEPALIVE_IDLE_SECONDS} s + {advisory.KEEPALIVE_COUNT} x "
        f"{advisory.KEEPALIVE_INTERVAL_SECONDS} s; tcp_user_timeout "
        f"{advisory.TCP_USER_TIMEOUT_MILLISECONDS / 1000:.0f} s) + retry {RETRY_SECONDS:.0f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (3)")
    options = parser.parse_args()
    if options.repeat < 1:
        parser.error(f"--repeat: expected 1 or more, got {options.repeat}")
    binaries = find_binaries()
    if binaries is None:
        print("error: PostgreSQL is not installed (no initdb/pg_ctl)", file=sys.stderr)
        return 2
    os.environ.pop(LEADERSHIP_RETRY_VARIABLE, None)  # the default interval is measured
    started = time.monotonic()
    runs: dict[str, list[Run]] = {name: [] for name in SCENARIOS}
    with throwaway_cluster(binaries) as cluster:
        for _ in range(options.repeat):
            for name in SCENARIOS:
                runs[name].append(measure(cluster, name))
    results = {name: summary(items) for name, items in runs.items()}
    print_table(results, options.repeat)
    over = [n for n, r in results.items() if r["max"] is not None and r["max"] > BOUND_SECONDS]
    errors = {name: result["errors"] for name, result in results.items() if result["errors"]}
    for name in over:
        print(
            f"BOUND EXCEEDED: {SCENARIOS[name][0]} took up to {results[name]['max']} s "
            f"(bound {BOUND_SECONDS:.0f} s)"
        )
    for name, messages in errors.items():
        for message in messages:
            print(f"FAILED: {SCENARIOS[name][0]}: {message}")
    print(f"took {time.monotonic() - started:.0f} s")
    document = {
        "bench": "failover",
        "repeat": options.repeat,
        "retry_seconds": RETRY_SECONDS,
        "bound_seconds": BOUND_SECONDS,
        **results,
        "dead_host_bound_configured_seconds": DEAD_HOST_SECONDS,
        "within_bound": not over,
        "ok": not over and not errors,
    }
    print(json.dumps(document))
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
