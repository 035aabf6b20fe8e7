"""A listener of the fleet inventory, the way the daemon's observer receives its reports."""

from __future__ import annotations

from snapd.hostinger import ApiError
from snapd.metrics import Metrics
from snapd.pipeline.outcome import SnapshotState


class Listener:
    """Records what the inventory reports, the way the daemon's observer receives it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.refreshes: list[int] = []
        self.refused: list[int | None] = []

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.metrics.snapshot_seen(virtual_machine_id, snapshot)

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.refreshes.append(virtual_machine_id)

    def outcome_count(self, virtual_machine_id: int) -> int:
        return 0

    def token_refused(self, error: ApiError, account: str = "") -> None:
        self.refused.append(error.status)
