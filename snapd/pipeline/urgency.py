"""Which due VM gets a worker first: the one whose restore point ends first.

A VM's restore point ends when its latest snapshot expires: the expiry the API reported,
else its latest success plus ``snapshot_lifetime``. A VM without a known success is the
most urgent. So that urgency cannot starve a slot, the key also ages: a slot queued one
minute later counts as if its restore point ended :data:`AGING` minutes later, and an end
more than :data:`HORIZON` away from the slot's queueing is taken as that far. A queued slot
is then overtaken only by slots queued less than ``2 * HORIZON / (AGING + 1)`` (about
four hours) after it; beyond that its wait is the budget's pace through those ahead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from snapd.config import VirtualMachinePolicy
from snapd.ledger import OperationKind
from snapd.pipeline.outcome import Outcome, Result, SnapshotState

HORIZON = timedelta(days=30)
AGING = 360
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# A slot's place in the queue (:mod:`snapd.pipeline.workers`): new slots rank 1.
SLOT_RANK = 1


class Urgency:
    """Thread-safe book of when each VM's restore point ends, as far as this process knows."""

    def __init__(self, last_successes: Mapping[int, datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._succeeded = dict(last_successes or {})
        self._expires: dict[int, datetime] = {}

    def restore_point_end(self, policy: VirtualMachinePolicy) -> datetime | None:
        """When the VM's restore point ends, or None when no success is known."""
        with self._lock:
            expires = self._expires.get(policy.id)
            succeeded = self._succeeded.get(policy.id)
        if expires is not None:
            return expires
        if succeeded is not None:
            return succeeded + policy.snapshot_lifetime
        return None

    def priority(self, policy: VirtualMachinePolicy, queued: datetime) -> tuple[int, float]:
        """The sort key of ``policy``'s slot queued at ``queued``: smaller goes first."""
        end = self.restore_point_end(policy)
        earliest, latest = queued - HORIZON, queued + HORIZON
        end = earliest if end is None else min(max(end, earliest), latest)
        aged = (end - _EPOCH).total_seconds() + AGING * (queued - _EPOCH).total_seconds()
        return (SLOT_RANK, aged)

    def remember(self, last_successes: Mapping[int, datetime]) -> None:
        """The latest successes the ledger knows (at start)."""
        with self._lock:
            self._succeeded.update(last_successes)

    def seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """The VM's latest snapshot as read from the API."""
        if snapshot is not None and snapshot.expires_at is not None:
            with self._lock:
                self._expires[virtual_machine_id] = snapshot.expires_at

    def learn(self, outcome: Outcome) -> None:
        """A recorded outcome: a success renews the VM's restore point."""
        if outcome.kind != OperationKind.SNAPSHOT or outcome.dry_run:
            return
        if outcome.result is not Result.SUCCESS:
            return
        with self._lock:
            self._succeeded[outcome.virtual_machine_id] = outcome.finished_at
            self._expires.pop(outcome.virtual_machine_id, None)
        self.seen(outcome.virtual_machine_id, outcome.new_snapshot)
