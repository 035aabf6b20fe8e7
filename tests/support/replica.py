"""Replicas of one fleet for the high-availability tests and ``bench/failover.py``: the fake
API as a process of its own (it outlives a killed replica, as the real API would), the
policy of one replica on the shared ledger, and what the fake API and PostgreSQL show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import TOKEN
from tests.support.daemon import (  # noqa: F401 - the replicas' fake API, re-exported
    SLOW_CREATE,
    VM,
    DaemonProcess,
    create_actions,
    fake_api_process,
    metric_value,
)
from tests.support.policy import write_policy
from tests.support.postgres import PostgresCluster

# A slow pre-hook holds the leader just before its create.
SLOW_PRE_HOOK = ", pre_hook: {command: [sleep, '2']}"
# The backends holding a fleet's leadership lock (namespace "snld") and who they are.
LEADER_QUERY = """
SELECT activity.pid, activity.application_name FROM pg_locks AS locks
JOIN pg_stat_activity AS activity USING (pid)
WHERE locks.locktype = 'advisory' AND locks.granted AND locks.classid::bigint = 1936616548
"""


def replica_policy(folder: Path, base_url: str, dsn: str, name: str, extra: str = "") -> Path:
    """The policy of one replica ``name`` in ``folder``: its own state_dir, the shared ledger.

    ``extra`` adds keys to the defaults (``, key: value``).
    """
    state_dir = folder / f"state-{name}"
    state_dir.mkdir(exist_ok=True)
    ledger = f"ledger: {{backend: postgresql, dsn: '{dsn}', fleet: web}}\n"
    return write_policy(
        folder / f"{name}.yaml",
        base_url,
        [VM],
        state_dir,
        defaults=f"catch_up: 2d{extra}",
        extra=ledger,
    )


def leader(*replicas: DaemonProcess) -> list[float | None]:
    """Each replica's ``snapd_leader``."""
    return [metric_value(replica.scrape(), "snapd_leader") for replica in replicas]


def lock_holders(cluster: PostgresCluster, dsn: str) -> list[tuple[Any, ...]]:
    """``(backend pid, application name)`` of each session holding a leadership lock."""
    return cluster.execute(LEADER_QUERY, dsn=dsn)


def finish(*replicas: DaemonProcess) -> str:
    """Stop every replica still running; their logs, checked for tracebacks and the token."""
    for replica in replicas:
        replica.stop()
    log = "".join(line for replica in replicas for line in replica.raw)
    assert "Traceback" not in log
    assert TOKEN not in log
    return log


def start_pair(
    folder: Path, api: str, dsn: str, extra: str = "", timeout: float = 20.0
) -> list[DaemonProcess]:
    """Replica a (the leader, once it says so), then replica b (its standby)."""
    replicas = [DaemonProcess(replica_policy(folder, api, dsn, "a", extra))]
    try:
        replicas[0].wait_for("leadership_acquired", timeout=timeout)
        replicas.append(DaemonProcess(replica_policy(folder, api, dsn, "b", extra)))
        replicas[1].wait_for("started", timeout=timeout)
    except AssertionError:
        finish(*replicas)
        raise
    return replicas
