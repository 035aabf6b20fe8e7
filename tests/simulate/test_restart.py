"""A restart of the simulated daemon follows the daemon's own start-up rules (``CatchUp``).

The fake's request log is kept whole (the simulation empties it as it goes), so that a
test sees which calls were made at the restart and how many creates each VM got.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from snapd.cli.commands.simulate import build_api
from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.simulate.driver import Simulation
from snapd.simulate.faults import load_faults
from snapd.simulate.report import build_report
from tests.simulate.scenarios import POLICY, write

START = datetime(2026, 1, 5, tzinfo=UTC)
# Down from day 2, 12:00 for two days: the 03:00 slots of days 3 and 4 are missed, and
# the restart at 12:00 on day 4 (2026-01-09) owes the 03:00 slot of that day.
DOWN = "- {kind: daemon_down, at: 2d12h, length: 2d}\n"
RESTART = START + timedelta(days=4, hours=12)
VMS = (1001, 1002)


class KeptLog:
    """The fake API, with every request it received kept for the test."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.kept: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def clear_requests(self) -> None:
        self.kept += self.api.requests
        self.api.clear_requests()


def _simulate(folder: Path, faults: str, days: int = 6) -> tuple[KeptLog, dict[str, Any]]:
    config = load_config(write(folder, "policy.yaml", POLICY), offline=True)
    troubles = load_faults(str(write(folder, "faults.yaml", faults)), list(VMS), days, 1)
    clock = ManualClock(START)
    api = KeptLog(build_api(config, clock, 1))
    simulation = Simulation(config, api, clock, troubles, days, 1)
    history = simulation.run()
    api.clear_requests()
    report = build_report(history, simulation.invariants, config.api.requests_per_minute)
    return api, report


def _creates(api: KeptLog, vm: int) -> list[datetime]:
    suffix = f"/virtual-machines/{vm}/snapshot"
    return [r.at for r in api.kept if r.method == "POST" and r.path.endswith(suffix)]


def test_a_daemon_down_for_two_days_creates_once_per_vm_at_its_restart(tmp_path: Path) -> None:
    api, report = _simulate(tmp_path, DOWN)

    for vm in VMS:
        creates = _creates(api, vm)
        during = [moment for moment in creates if START + timedelta(days=2, hours=12) <= moment]
        at_restart = [moment for moment in during if moment < RESTART + timedelta(minutes=1)]
        # One catch-up create at the restart, then only the next days' scheduled slots.
        assert len(at_restart) == 1, creates
        assert at_restart[0] >= RESTART
        assert all(moment >= RESTART + timedelta(hours=14) for moment in during[1:]), creates
    assert report["breaches"] == []


def test_the_restart_looks_at_every_vm_snapshot_before_it_catches_up(tmp_path: Path) -> None:
    api, _ = _simulate(tmp_path, DOWN)

    first = [r for r in api.kept if r.at >= RESTART and "backups" not in r.path][:3]

    # The daemon's start-up look: the fleet's list, then each VM's snapshot once (and, in
    # turn, a VM's backups, left out here), before any catch-up run.
    assert [(r.method, r.path.rsplit("/v1/", 1)[1]) for r in first] == [
        ("GET", "virtual-machines"),
        ("GET", "virtual-machines/1001/snapshot"),
        ("GET", "virtual-machines/1002/snapshot"),
    ]


def test_a_snapshot_taken_by_hand_after_the_missed_slot_needs_no_catch_up(tmp_path: Path) -> None:
    # A person takes a snapshot of 1002 at 10:00, after the owed 03:00 slot, while the
    # daemon is down: the daemon's rule sees a snapshot newer than the slot and runs nothing.
    faults = DOWN + "- {kind: manual, vm: 1002, at: 4d10h}\n"

    api, report = _simulate(tmp_path, faults)

    restart_day = [m for m in _creates(api, 1002) if RESTART <= m < RESTART + timedelta(hours=12)]
    assert restart_day == []
    # The one veto is the next day's slot, 17 hours after the snapshot taken by hand: no
    # catch-up run was started to be vetoed at the restart.
    vetoes = next(row["vetoes"] for row in report["virtual_machines"] if row["vm"] == 1002)
    assert vetoes == {"manual_snapshot_protected": 1}
