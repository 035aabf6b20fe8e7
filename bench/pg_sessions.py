"""Benchmark: how many PostgreSQL sessions one daemon uses with 200 VMs in flight.

Starts a throwaway PostgreSQL cluster, the fake API as a process with ``--vms`` VMs whose
creates take ``--action-seconds``, and one ``snapd run`` on a PostgreSQL ledger whose
catch-up sends a create to every VM at start. Once every VM has an action in flight (a
pending row with its action id), it samples ``pg_stat_activity`` for the daemon's
sessions a few times and prints the most it saw, the bound (``ledger.max_connections``),
then one JSON line. Not part of the test suite (``tests/faults/test_postgres_locks.py``
runs it with a shorter action).

    python bench/pg_sessions.py --vms 200
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The shared test support (a throwaway cluster, the fake API and the daemon as processes).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snapd.config.ledger import DEFAULT_MAX_CONNECTIONS
from tests.support.daemon import DaemonProcess, fake_api_process
from tests.support.postgres import PostgresCluster, find_binaries, throwaway_cluster

FIRST_VM = 1268054
WAIT_SECONDS = 120.0
SAMPLES = 5
_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'snapd%'
"""
_IN_FLIGHT = "SELECT count(*) FROM pending_actions WHERE action_id IS NOT NULL"


def write_policy(folder: Path, api: str, dsn: str, vms: int) -> Path:
    """One daemon's policy: ``vms`` VMs, all owed a catch-up at start, on ``dsn``."""
    state_dir = folder / "state"
    state_dir.mkdir(exist_ok=True)
    listing = "".join(f"  - {{id: {FIRST_VM + index}}}\n" for index in range(vms))
    path = folder / "policy.yaml"
    path.write_text(
        f"api: {{base_url: '{api}', timeout: 10s, requests_per_minute: 100000}}\n"
        'defaults: {schedule: "0 3 * * *", catch_up: 2d, min_age: 0s, protect_manual: 0s}\n'
        f"vms:\n{listing}"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        f"ledger: {{backend: postgresql, dsn: '{dsn}', fleet: bench}}\n"
        "log: {format: json, level: warning}\n"
    )
    return path


def count(cluster: PostgresCluster, dsn: str, sql: str) -> int:
    return int(cluster.execute(sql, dsn=dsn)[0][0])


def measure(cluster: PostgresCluster, folder: Path, vms: int, action_seconds: float) -> Any:
    """Run the daemon until all ``vms`` are in flight; the most sessions it used then."""
    dsn = cluster.new_database()
    arguments = ["--vms", str(vms), "--action-seconds", str(action_seconds)]
    with fake_api_process(folder, arguments) as api:
        daemon = DaemonProcess(write_policy(folder, api, dsn, vms), "--workers", "48")
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            in_flight = 0
            while time.monotonic() < deadline:
                if daemon.process.poll() is not None:
                    raise RuntimeError("the daemon exited:\n" + "".join(daemon.raw))
                try:
                    in_flight = count(cluster, dsn, _IN_FLIGHT)
                except Exception:  # the table appears once the daemon has migrated
                    in_flight = 0
                if in_flight >= vms:
                    break
                time.sleep(0.2)
            sessions = max(count(cluster, dsn, _SESSIONS) for _ in range(SAMPLES))
        finally:
            daemon.stop()
    return {"vms": vms, "in_flight": in_flight, "sessions": sessions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=200, help="VMs in flight (default 200)")
    parser.add_argument(
        "--action-seconds", type=float, default=120.0, help="how long a create takes (120)"
    )
    options = parser.parse_args()
    binaries = find_binaries()
    if binaries is None:
        sys.exit("PostgreSQL's initdb and pg_ctl are needed")
    with throwaway_cluster(binaries) as cluster, tempfile.TemporaryDirectory() as folder:
        result = measure(cluster, Path(folder), options.vms, options.action_seconds)
    result["bound"] = DEFAULT_MAX_CONNECTIONS
    print(
        f"{result['in_flight']} of {result['vms']} VMs in flight: "
        f"{result['sessions']} PostgreSQL session(s) (bound {result['bound']})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
