"""Pre-flight: the VM and its snapshot read now, joined with the ledger into decision facts."""

from __future__ import annotations

from datetime import timedelta

from snapd.ledger import Hold
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.outcome import SnapshotState
from snapd.pipeline.preflight import Preflight, collect_facts, guards_of, read_virtual_machine
from tests.conftest import START, Pipeline, RecordingObserver, make_policy


class SnapshotsSeen(RecordingObserver):
    def __init__(self) -> None:
        super().__init__([])
        self.seen: list[tuple[int, SnapshotState | None]] = []

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.seen.append((virtual_machine_id, snapshot))


def test_a_first_look_takes_the_vm_from_the_shared_list_and_reads_only_its_snapshot(
    pipeline: Pipeline,
) -> None:
    vm = pipeline.fake.vm_ids[0]
    pipeline.fake.set_vm_state(vm, "stopped")
    pipeline.fake.set_snapshot(vm, START - timedelta(days=1))
    fleet = FleetView(pipeline.client, pipeline.clock)
    observer = SnapshotsSeen()

    looks = [read_virtual_machine(pipeline.client, observer, one, fleet=fleet)
             for one in pipeline.fake.vm_ids]  # fmt: skip

    assert looks[0].state == "stopped" and not looks[0].locked
    assert looks[0].snapshot is not None
    assert looks[0].snapshot.created_at == START - timedelta(days=1)
    assert pipeline.fake.count("GET", "/virtual-machines") == 1  # one list for all three
    assert pipeline.fake.count("GET", f"/virtual-machines/{vm}") == 0
    assert [seen[0] for seen in observer.seen] == pipeline.fake.vm_ids


def test_a_second_look_reads_the_vm_alone(pipeline: Pipeline) -> None:
    vm = pipeline.fake.vm_ids[0]
    fleet = FleetView(pipeline.client, pipeline.clock)
    read_virtual_machine(pipeline.client, SnapshotsSeen(), vm, fleet=fleet)
    pipeline.fake.set_actions_lock(vm, "locked")

    again = read_virtual_machine(pipeline.client, SnapshotsSeen(), vm, fleet=fleet, again=True)

    assert again.locked
    assert pipeline.fake.count("GET", f"/virtual-machines/{vm}") == 1


def test_the_facts_join_the_look_with_the_ledgers_hold_and_authorship(pipeline: Pipeline) -> None:
    vm = pipeline.fake.vm_ids[0]
    now = pipeline.clock.now()
    pipeline.ledger.set_hold(Hold(vm, now + timedelta(hours=2), "maintenance", now))
    snapshot = SnapshotState(8, START - timedelta(hours=3), None)

    facts = collect_facts(
        pipeline.ledger, make_policy(vm), START, Preflight("running", False, snapshot), now,
        force=False,
    )  # fmt: skip

    assert facts.held_until == now + timedelta(hours=2)
    assert facts.snapshot_present and facts.snapshot_created_at == snapshot.created_at
    assert not facts.snapshot_made_by_snapd  # the ledger has no create of it
    assert not facts.slot_already_done


def test_the_guards_are_the_policys_states_and_ages() -> None:
    policy = make_policy(1, min_age=timedelta(hours=6))

    guards = guards_of(policy)

    assert (guards.allowed_states, guards.min_age, guards.protect_manual) == (
        ("running",),
        timedelta(hours=6),
        timedelta(hours=24),
    )
