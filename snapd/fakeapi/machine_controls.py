"""The fake's hands-on controls of its VMs, for tests: states, locks, snapshots, backups.

:class:`MachineControls` is a part of :class:`~snapd.fakeapi.fake.FakeHostinger`; each
control raises ``KeyError`` for a VM the fake does not have.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from snapd.fakeapi.controls import FakeState
from snapd.fakeapi.errors import FakeApiError, JsonObject
from snapd.fakeapi.fleet import DEFAULT_BACKUP_SIZE_KB

__all__ = ["MachineControls"]


class MachineControls:
    """Set up a world the API cannot make, on the fake's state ``_state``."""

    _state: FakeState

    def set_vm_state(self, vm_id: int, state: str) -> None:
        """Set the VM's state (any string; the API documents 16)."""
        with _known_machine(vm_id):
            self._state.set_machine_state(vm_id, state)

    def set_actions_lock(self, vm_id: int, lock: str) -> None:
        """Lock (``"locked"``) or unlock the VM's actions by hand, independently of
        running actions; while locked, create, delete and restore answer 422."""
        if lock not in ("locked", "unlocked"):
            raise ValueError(f"lock must be 'locked' or 'unlocked', got {lock!r}")
        with _known_machine(vm_id):
            self._state.set_manual_lock(vm_id, lock == "locked")

    def set_snapshot(
        self,
        vm_id: int,
        created_at: datetime,
        expires_at: datetime | None = None,
        snapshot_id: int | None = None,
    ) -> JsonObject:
        """Give the VM this snapshot (``expires_at`` default: 20 days later); return it."""
        with _known_machine(vm_id):
            return self._state.set_snapshot(vm_id, created_at, expires_at, snapshot_id)

    def clear_snapshot(self, vm_id: int) -> None:
        """Remove the VM's snapshot."""
        with _known_machine(vm_id):
            self._state.clear_snapshot(vm_id)

    def snapshot_of(self, vm_id: int) -> JsonObject | None:
        """The VM's current snapshot JSON, or ``None``."""
        with _known_machine(vm_id):
            return self._state.get_snapshot(vm_id)

    def vm(self, vm_id: int) -> JsonObject:
        """The VM's current JSON, as ``GET …/virtual-machines/{id}`` would answer."""
        with _known_machine(vm_id):
            return self._state.get_virtual_machine(vm_id)

    def actions_of(self, vm_id: int) -> list[JsonObject]:
        """The VM's actions, newest first, with their states as of now."""
        with _known_machine(vm_id):
            return self._state.actions(vm_id)

    def add_backup(
        self, vm_id: int, created_at: datetime, size_kb: int = DEFAULT_BACKUP_SIZE_KB
    ) -> JsonObject:
        """Add a backup to the VM; return its JSON."""
        with _known_machine(vm_id):
            return self._state.add_backup(vm_id, created_at, size_kb)


@contextlib.contextmanager
def _known_machine(vm_id: int) -> Iterator[None]:
    """Turn the state's 404 for an unknown VM into the ``KeyError`` a Python caller expects."""
    try:
        yield
    except FakeApiError as error:
        raise KeyError(f"the fake has no virtual machine {vm_id}") from error
