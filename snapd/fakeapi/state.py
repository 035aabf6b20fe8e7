"""The fake's world: VMs, their snapshot, backups and actions, behind one lock.

Every method first *settles* the world at the clock's current time: actions whose timeline
has reached ``success`` by now take effect, in the order they finished and stamped with
the moment they finished (not the moment somebody looked). No background thread is
needed, so a manual clock drives everything.
"""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from snapd.clock import Clock
from snapd.fakeapi import fleet as inventory
from snapd.fakeapi.errors import FakeApiError, JsonObject, busy_error
from snapd.fakeapi.model import (
    SNAPSHOT_LIFETIME,
    ActionRecord,
    BackupRecord,
    SnapshotRecord,
    Timeline,
    VirtualMachineRecord,
    default_timeline,
    paginate,
    styled_timestamp,
)
from snapd.fakeapi.texts import MachineTexts, RawJson

# Called when an action is created: its timeline, or None for the normal one. The fault
# injector hides behind it, so only a call that creates an action uses a fault up.
TimelineChooser = Callable[[], Timeline | None]

_RESTORING_ACTIONS = frozenset({"restore_snapshot", "restore_backup"})


def _no_fault() -> Timeline | None:
    return None


class ApiState:
    """All mutable state of the fake; thread-safe, every public method takes the lock.

    Methods raise ``FakeApiError`` for the answers that are not a success (404 for an unknown
    VM, 422 while busy, ...), test controls included.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        vm_count: int,
        first_vm_id: int,
        action_seconds: float,
        seed: int,
    ) -> None:
        self._clock = clock
        self.action_seconds = action_seconds  # how long a new action takes; may change
        self._lock = threading.RLock()
        generator = random.Random(seed)
        now = clock.now()
        machines = inventory.build_virtual_machines(generator, vm_count, first_vm_id, now)
        self._machines = {machine.virtual_machine_id: machine for machine in machines}
        self._next_backup_id = 8_600_000 + generator.randrange(100_000)
        self._backups: dict[int, list[BackupRecord]] = {}
        for machine in machines:
            seeded = inventory.seed_backups(generator, machine, now, self._next_backup_id)
            self._next_backup_id += len(seeded)
            self._backups[machine.virtual_machine_id] = seeded
        self._next_action_id = 8_100_000 + generator.randrange(100_000)
        self._next_snapshot_id = 300_000 + generator.randrange(100_000)
        self._snapshots: dict[int, SnapshotRecord] = {}
        self._actions: dict[int, ActionRecord] = {}
        self._actions_by_machine: dict[int, list[ActionRecord]] = {}
        # Actions not yet in effect (running or never finishing) by VM, those that will
        # finish by when: no answer scans every action of a large fleet.
        self._pending: dict[int, list[ActionRecord]] = {}
        self._finishing: list[tuple[datetime, int, ActionRecord]] = []
        self.clock_skew = timedelta(0)
        self.action_list_lag = timedelta(0)
        self.snapshot_time_style = "iso"  # how created_at is written (model.TIME_STYLES)
        self._texts = MachineTexts()  # the VM list's texts, encoded once each

    def server_now(self) -> datetime:
        """The server's clock: the fake's clock plus ``clock_skew``."""
        return self._clock.now() + self.clock_skew

    # ----- reading, as the API does -------------------------------------------------

    def virtual_machine_ids(self) -> list[int]:
        """The ids of all VMs, in creation order."""
        with self._lock:
            return list(self._machines)

    def list_virtual_machines(self) -> RawJson:
        """All VMs as a JSON array of ``VirtualMachineResource`` (bare, as the API answers)."""
        with self._lock:
            self._settle()
            machines = self._machines
            return self._texts.array((machines[m], *self._shown(m)) for m in machines)

    def get_virtual_machine(self, virtual_machine_id: int) -> JsonObject:
        """One VM; ``FakeApiError`` 404 when unknown."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id)
            return self._machine_json(virtual_machine_id)

    def get_snapshot(self, virtual_machine_id: int) -> JsonObject | None:
        """The VM's snapshot, or ``None`` when it has none; ``FakeApiError`` 404 for unknown VMs."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id)
            snapshot = self._snapshots.get(virtual_machine_id)
            if snapshot is None:
                return None
            answer = snapshot.to_json()
            if self.snapshot_time_style != "iso":
                answer["created_at"] = styled_timestamp(
                    snapshot.created_at, self.snapshot_time_style
                )
            return answer

    def list_actions(self, virtual_machine_id: int, page: int) -> JsonObject:
        """One page of the VM's actions, newest first, without those younger than
        ``action_list_lag`` (the list is an eventually consistent index)."""
        return paginate(self.actions(virtual_machine_id, self.action_list_lag), page)

    def actions(self, virtual_machine_id: int, lag: timedelta = timedelta(0)) -> list[JsonObject]:
        """The VM's actions at least ``lag`` old, newest first, in their state as of now."""
        with self._lock:
            now = self._settle()
            self._require_machine(virtual_machine_id)
            actions = [
                a
                for a in self._actions_by_machine.get(virtual_machine_id, ())
                if a.created_at + lag <= now
            ]
            actions.sort(key=lambda action: (action.created_at, action.action_id), reverse=True)
            return [action.to_json(now) for action in actions]

    def get_action(self, virtual_machine_id: int, action_id: int) -> JsonObject:
        """One action of the VM; ``FakeApiError`` 404 when the VM or the action is unknown."""
        with self._lock:
            now = self._settle()
            self._require_machine(virtual_machine_id)
            action = self._actions.get(action_id)
            if action is None or action.virtual_machine_id != virtual_machine_id:
                raise FakeApiError(404, "Action not found")
            return action.to_json(now)

    def list_backups(self, virtual_machine_id: int, page: int) -> JsonObject:
        """One page of the VM's backups, newest first."""
        with self._lock:
            self._settle()
            self._require_machine(virtual_machine_id)
            backups = self._backups[virtual_machine_id]
            backups = sorted(backups, key=lambda item: (item.created_at, item.backup_id))[::-1]
            return paginate([backup.to_json() for backup in backups], page)

    # ----- changing, as the API does ------------------------------------------------

    def create_snapshot(
        self, virtual_machine_id: int, choose: TimelineChooser = _no_fault
    ) -> JsonObject:
        """Start a ``create_snapshot`` action; at success it replaces the VM's snapshot."""
        return self._start_guarded(virtual_machine_id, "create_snapshot", choose)

    def delete_snapshot(
        self, virtual_machine_id: int, choose: TimelineChooser = _no_fault
    ) -> JsonObject:
        """Start a ``delete_snapshot`` action; 404 ``Snapshot not found`` without a snapshot."""

        def require_snapshot() -> None:
            if virtual_machine_id not in self._snapshots:
                raise FakeApiError(404, "Snapshot not found")

        return self._start_guarded(virtual_machine_id, "delete_snapshot", choose, require_snapshot)

    def restore_snapshot(
        self, virtual_machine_id: int, choose: TimelineChooser = _no_fault
    ) -> JsonObject:
        """Start a ``restore_snapshot`` action; 422 when the VM has no snapshot."""

        def require_snapshot() -> None:
            if virtual_machine_id not in self._snapshots:
                message = "Virtual machine does not have a snapshot to restore"
                raise FakeApiError(422, message, errors={"snapshot": [message]})

        return self._start_guarded(virtual_machine_id, "restore_snapshot", choose, require_snapshot)

    def restore_backup(
        self, virtual_machine_id: int, backup_id: int, choose: TimelineChooser = _no_fault
    ) -> JsonObject:
        """Start a ``restore_backup`` action; 404 ``Backup not found`` for unknown backups."""

        def require_backup() -> None:
            known = {backup.backup_id for backup in self._backups[virtual_machine_id]}
            if backup_id not in known:
                raise FakeApiError(404, "Backup not found")

        return self._start_guarded(virtual_machine_id, "restore_backup", choose, require_backup)

    # ----- inside ---------------------------------------------------------------------

    def _settle(self) -> datetime:
        """Apply every action that has finished by now; return now."""
        now = self._clock.now()
        while self._finishing and self._finishing[0][0] <= now:  # by finish, then id
            finished_at, _, action = heapq.heappop(self._finishing)
            self._pending[action.virtual_machine_id].remove(action)
            if action.final_state() == "success":
                self._apply_success(action, finished_at)
        return now

    def _apply_success(self, action: ActionRecord, finished_at: datetime) -> None:
        machine_id = action.virtual_machine_id
        if action.name == "create_snapshot":
            created_at = (finished_at + action.server_offset).replace(microsecond=0)
            self._snapshots[machine_id] = SnapshotRecord(
                self._take_snapshot_id(), created_at, created_at + SNAPSHOT_LIFETIME
            )
        elif action.name == "delete_snapshot":
            self._snapshots.pop(machine_id, None)
        elif action.name in _RESTORING_ACTIONS:
            self._machines[machine_id].state = "running"

    def _start_guarded(
        self,
        virtual_machine_id: int,
        name: str,
        choose: TimelineChooser,
        check: Callable[[], None] = lambda: None,
    ) -> JsonObject:
        """Settle, refuse a busy VM, run ``check``, then start the action."""
        with self._lock:
            self._settle()
            self._require_idle(virtual_machine_id)
            check()
            return self._start_action(virtual_machine_id, name, choose)

    def _start_action(
        self, virtual_machine_id: int, name: str, choose: TimelineChooser
    ) -> JsonObject:
        now = self._clock.now()
        timeline = choose() or default_timeline(self.action_seconds)
        action = ActionRecord(
            self._next_action_id,
            virtual_machine_id,
            name,
            now,
            timeline,
            server_offset=self.clock_skew,
        )
        self._next_action_id += 1
        self._actions[action.action_id] = action
        self._actions_by_machine.setdefault(virtual_machine_id, []).append(action)
        self._pending.setdefault(virtual_machine_id, []).append(action)
        finished_at = action.finished_at()
        if finished_at is not None:
            heapq.heappush(self._finishing, (finished_at, action.action_id, action))
        # A timeline may be final from the start (a single "success" state, zero seconds).
        self._settle()
        return action.to_json(now)

    def _take_snapshot_id(self) -> int:
        snapshot_id = self._next_snapshot_id
        self._next_snapshot_id += 1
        return snapshot_id

    def _require_machine(self, virtual_machine_id: int) -> VirtualMachineRecord:
        machine = self._machines.get(virtual_machine_id)
        if machine is None:
            raise FakeApiError(404, "Virtual machine not found")
        return machine

    def _require_idle(self, virtual_machine_id: int) -> None:
        self._require_machine(virtual_machine_id)
        if self._is_locked(virtual_machine_id):
            raise busy_error()

    def _is_locked(self, virtual_machine_id: int) -> bool:
        if self._machines[virtual_machine_id].manually_locked:
            return True
        return bool(self._pending.get(virtual_machine_id))

    def _shown(self, virtual_machine_id: int) -> tuple[str, str]:
        """The VM's state and actions lock, as the API shows them now."""
        machine, pending = self._machines[virtual_machine_id], self._pending.get(virtual_machine_id)
        if not pending:  # most VMs of a fleet, most of the time
            return machine.state, "locked" if machine.manually_locked else "unlocked"
        restoring = any(action.name in _RESTORING_ACTIONS for action in pending)
        return "restoring" if restoring else machine.state, "locked"

    def _machine_json(self, virtual_machine_id: int) -> JsonObject:
        state, lock = self._shown(virtual_machine_id)
        return self._machines[virtual_machine_id].to_json(state=state, actions_lock=lock)
