"""The daemon's view of the fleet as JSON: what ``GET /status`` on the metrics listener says.

``snapd status`` on the same ``state_dir`` reads this instead of asking the API, so that
looking at a fleet of a thousand VMs costs no request from the shared budget. The view is
what the daemon already knows: the account's VM list of the latest inventory pass and
every VM's snapshot, last success, next run, hold and newest backup as exported in the
metrics. It holds no secret: no token, no URL (health checks and hooks are not in it).

Document (``format`` 1)::

    {"format": 1, "pid": 4242, "generated_at": "2026-11-27T15:00:00Z",
     "listed_at": "2026-11-27T14:58:00Z",
     "vms": [{"id": 1268054, "name": "web-1",
              "state": "running", "locked": false,
              "snapshot": {"present": true, "created_at": "...", "expires_at": "..."},
              "last_success": "...", "next_run": "...", "hold": false,
              "backup_newest": "..."}]}

``listed_at`` is null until a pass listed the VMs; a VM the list did not contain has
``state`` null. ``snapshot`` is null until the daemon has read the VM's snapshot, and
``{"present": false, ...}`` when the VM has none. Other times are null when unknown.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from snapd.clock import Clock, utc_text
from snapd.config import VirtualMachinePolicy
from snapd.hostinger import VirtualMachine
from snapd.metrics import Metrics

__all__ = ["STATUS_FORMAT", "MachineStates", "status_document"]

STATUS_FORMAT = 1


class MachineStates:
    """The account's VM list as the latest inventory pass read it (thread-safe)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[int, tuple[str, bool]] = {}
        self._by_account: dict[str, dict[int, tuple[str, bool]]] = {}
        self._listed_at: datetime | None = None

    def machines_listed(self, machines: Sequence[VirtualMachine], account: str = "") -> None:
        """``account``'s VM list (one inventory per account); the view is every account's
        latest list together."""
        states = {machine.id: (machine.state, machine.is_locked) for machine in machines}
        with self._lock:
            self._by_account[account] = states
            self._states = {
                key: value for listed in self._by_account.values() for key, value in listed.items()
            }
            self._listed_at = self._clock.now()

    def snapshot(self) -> tuple[datetime | None, dict[int, tuple[str, bool]]]:
        """When the list was read (None: not yet) and VM id → (state, locked)."""
        with self._lock:
            return self._listed_at, self._states


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return utc_text(datetime.fromtimestamp(seconds, UTC), whole_seconds=True)


def _snapshot(metrics: Metrics, virtual_machine_id: int) -> dict[str, Any] | None:
    present = metrics.outcomes.present.get(virtual_machine_id)
    if present is None:
        return None
    return {
        "present": present == 1,
        "created_at": _time(metrics.outcomes.created.get(virtual_machine_id)),
        "expires_at": _time(metrics.outcomes.expiry.get(virtual_machine_id)),
    }


def status_document(
    policies: Sequence[VirtualMachinePolicy],
    metrics: Metrics,
    machines: MachineStates,
    now: datetime,
    pid: int,
) -> dict[str, Any]:
    """The document described above, one entry per policy VM in policy order."""
    listed_at, states = machines.snapshot()
    entries = []
    for policy in policies:
        vm = policy.id
        state = states.get(vm)
        entries.append(
            {
                "id": vm,
                "name": policy.name,
                "state": state[0] if state else None,
                "locked": state[1] if state else None,
                "snapshot": _snapshot(metrics, vm),
                "last_success": _time(metrics.outcomes.last_success.get(vm)),
                "next_run": _time(metrics.fleet.next_run.get(vm)),
                "hold": metrics.fleet.hold.get(vm) == 1,
                "backup_newest": _time(metrics.fleet.backup_newest.get(vm)),
            }
        )
    return {
        "format": STATUS_FORMAT,
        "pid": pid,
        "generated_at": utc_text(now, whole_seconds=True),
        "listed_at": utc_text(listed_at, whole_seconds=True) if listed_at else None,
        "vms": entries,
    }
