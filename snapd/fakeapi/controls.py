"""The fake's state with the controls tests use to set up a world the API cannot make."""

from __future__ import annotations

from datetime import datetime

from snapd.fakeapi import fleet as inventory
from snapd.fakeapi.errors import JsonObject
from snapd.fakeapi.model import SNAPSHOT_LIFETIME, BackupRecord, SnapshotRecord, require_aware
from snapd.fakeapi.state import ApiState


class FakeState(ApiState):
    """``ApiState`` plus test controls: states, locks, snapshots and backups set by hand."""

    def set_machine_state(self, virtual_machine_id: int, state: str) -> None:
        """Set the VM's resting state (any string, documented or not)."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id).state = state

    def set_manual_lock(self, virtual_machine_id: int, locked: bool) -> None:
        """Lock or unlock the VM's actions, independently of running actions."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id).manually_locked = locked

    def set_snapshot(
        self,
        virtual_machine_id: int,
        created_at: datetime,
        expires_at: datetime | None,
        snapshot_id: int | None,
    ) -> JsonObject:
        """Replace the VM's snapshot; ``expires_at`` defaults to ``created_at`` + 20 days."""
        created_at = require_aware(created_at, "created_at")
        if expires_at is None:
            expires_at = created_at + SNAPSHOT_LIFETIME
        expires_at = require_aware(expires_at, "expires_at")
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id)
            if snapshot_id is None:
                snapshot_id = self._take_snapshot_id()
            snapshot = SnapshotRecord(snapshot_id, created_at, expires_at)
            self._snapshots[virtual_machine_id] = snapshot
            return snapshot.to_json()

    def clear_snapshot(self, virtual_machine_id: int) -> None:
        """Remove the VM's snapshot, if any."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id)
            self._snapshots.pop(virtual_machine_id, None)

    def add_backup(self, virtual_machine_id: int, created_at: datetime, size_kb: int) -> JsonObject:
        """Add a backup to the VM and return its JSON."""
        created_at = require_aware(created_at, "created_at")
        with self._lock:
            self._settle()
            machine = self._require_machine(virtual_machine_id)
            backup = BackupRecord(
                backup_id=self._next_backup_id,
                size=size_kb,
                location=inventory.backup_location(machine.data_center_id),
                created_at=created_at,
            )
            self._next_backup_id += 1
            self._backups[virtual_machine_id].append(backup)
            return backup.to_json()
