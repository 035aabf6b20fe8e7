"""SlotRuns: a daemon's slots on the workers, one run per VM at a time, failures kept in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from snapd.config import VirtualMachinePolicy
from snapd.daemon.runs import SlotRuns
from snapd.daemon.scheduler import RunPurpose
from snapd.ledger import LedgerError
from snapd.metrics import Metrics
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.later import Later
from snapd.pipeline.outcome import Outcome
from tests.conftest import Pipeline, make_policy
from tests.support.clock_driver import PollerClockDriver
from tests.support.daemon import metric_value

WAIT_SECONDS = 30.0


@dataclass
class Finished:
    """The VMs whose runs ended, in order, as ``SlotRuns.finished`` reports them."""

    vms: list[int] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, virtual_machine_id: int) -> None:
        with self.changed:
            self.vms.append(virtual_machine_id)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[int]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.vms) >= count, WAIT_SECONDS)
            return list(self.vms)


@dataclass
class Runs:
    slots: SlotRuns
    finished: Finished
    gate: PollerClockDriver
    registry: CollectorRegistry


@pytest.fixture
def runs(pipeline: Pipeline, gate: PollerClockDriver) -> Iterator[Runs]:
    fleet = FleetRunner(pipeline.engine, workers=2)
    registry = CollectorRegistry()
    worker = DeliveryWorker()
    finished = Finished()
    slots = SlotRuns(
        fleet, Notifier({}.get, worker, clock=pipeline.clock), Metrics(registry),
        threading.Event(), finished,
    )  # fmt: skip
    yield Runs(slots, finished, gate, registry)
    gate.open.set()
    fleet.close()
    worker.close(1.0)


def test_a_submitted_slot_runs_on_the_workers_and_reports_its_vm_finished(
    runs: Runs, pipeline: Pipeline
) -> None:
    vm = pipeline.fake.vm_ids[0]
    runs.gate.open.set()

    runs.slots.submit(make_policy(vm), None, RunPurpose.SCHEDULED)

    assert runs.finished.wait_for(1) == [vm]
    assert pipeline.creates() == 1
    assert pipeline.ledger.pending_for(vm) is None


def test_a_second_slot_of_a_vm_whose_run_is_in_progress_is_coalesced(
    runs: Runs, pipeline: Pipeline
) -> None:
    vm = pipeline.fake.vm_ids[0]
    policy = make_policy(vm)
    runs.slots.submit(policy, None, RunPurpose.SCHEDULED)  # its action waits at the gate
    with structlog.testing.capture_logs() as logs:
        runs.slots.submit(policy, None, RunPurpose.CATCH_UP)
    runs.gate.open.set()

    assert runs.finished.wait_for(1) == [vm]
    # The worker may log its own run meanwhile: only the coalescing matters here.
    assert [line["vm"] for line in logs if line["event"] == "run_coalesced"] == [vm]
    assert pipeline.creates() == 1


def test_a_slot_taken_after_the_stop_sends_nothing_and_still_finishes(
    runs: Runs, pipeline: Pipeline
) -> None:
    vm = pipeline.fake.vm_ids[0]
    runs.slots.stop_event.set()

    runs.slots.submit(make_policy(vm), None, RunPurpose.SCHEDULED)

    assert runs.finished.wait_for(1) == [vm]
    assert pipeline.creates() == 0


def test_a_ledger_error_is_counted_and_kept_in_and_the_vm_finishes(
    runs: Runs, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(
        policy: VirtualMachinePolicy, slot: datetime | None, waiter: object, **options: object
    ) -> Later[Outcome]:
        raise LedgerError("the disk is full")

    monkeypatch.setattr(pipeline.engine, "start_slot", broken)
    vm = pipeline.fake.vm_ids[0]

    with structlog.testing.capture_logs() as logs:
        runs.slots.submit(make_policy(vm), None, RunPurpose.SCHEDULED)
        assert runs.finished.wait_for(1) == [vm]

    assert metric_value(_exposition(runs.registry), "snapd_ledger_errors_total") == 1
    assert any(line["event"] == "ledger_error" for line in logs)
    assert pipeline.creates() == 0


def test_a_crashed_run_is_logged_and_never_escapes(
    runs: Runs, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(
        policy: VirtualMachinePolicy, slot: datetime | None, waiter: object, **options: object
    ) -> Later[Outcome]:
        raise ZeroDivisionError("a defect")

    monkeypatch.setattr(pipeline.engine, "start_slot", broken)
    vm = pipeline.fake.vm_ids[0]

    with structlog.testing.capture_logs() as logs:
        runs.slots.submit(make_policy(vm), None, RunPurpose.SCHEDULED)
        assert runs.finished.wait_for(1) == [vm]

    assert any(line["event"] == "run_crashed" for line in logs)


def _exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()
