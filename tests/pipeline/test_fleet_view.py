"""A pass over the fleet reads the VMs' state with one list call: four calls per snapshot."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault, RecordedRequest
from snapd.hostinger import HostingerClient, NotFoundError, ServerError
from snapd.hostinger.budget import RequestBudget
from snapd.pipeline.fleet_view import FRESH_FOR, FleetView
from snapd.pipeline.outcome import Result
from tests.conftest import TOKEN, FakeMaker, FakeSettings, Pipeline, make_policy

VMS = 8
LIST = "/api/vps/v1/virtual-machines"


def kinds(requests: list[RecordedRequest]) -> list[str]:
    """Each request as one word: list, vm, snapshot, create, poll."""
    named = []
    for request in requests:
        parts = request.path.removeprefix(LIST).strip("/").split("/")
        if request.path == LIST:
            named.append("list")
        elif len(parts) == 1:
            named.append("vm")
        elif parts[1] == "snapshot" and request.method == "POST":
            named.append("create")
        elif parts[1] == "snapshot":
            named.append("snapshot")
        else:
            named.append("poll")
    return named


@pytest.fixture
def fleet_fake(make_fake: FakeMaker) -> FakeHostinger:
    """Eight VMs on the real clock; one-second actions, done before the first poll."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=VMS, action_seconds=1.0, seed=3, manual_clock=False)
    )


@pytest.fixture
def fleet_policy(
    tmp_path: Path, fleet_fake: FakeHostinger, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    vms = "\n".join(f"  - {{id: {vm}}}" for vm in fleet_fake.vm_ids)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{fleet_fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        f'defaults: {{schedule: "0 3 * * *"}}\n'
        f"vms:\n{vms}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return path


def test_once_all_reads_the_fleet_with_one_list_call_then_four_calls_per_snapshot(
    fleet_policy: Path, fleet_fake: FakeHostinger
) -> None:
    assert main(["once", "-c", str(fleet_policy), "--all"]) == 0

    requests = fleet_fake.requests
    assert kinds(requests[:1]) == ["list"]  # the pass's one list call comes first
    assert kinds(requests).count("list") == 1
    for vm in fleet_fake.vm_ids:
        own = [request for request in requests if f"/{vm}" in request.path]
        # The snapshot read before the create (the pre-flight's one call of its own), the
        # create, one poll (the action ends before it) and the verifying read: no VM
        # was read alone.
        assert kinds(own) == ["snapshot", "create", "poll", "snapshot"], vm
    assert len(requests) == 4 * VMS + 1


def test_callers_that_arrive_while_the_list_call_runs_share_its_answer(
    fleet_fake: FakeHostinger,
) -> None:
    fleet_fake.inject(Fault(kind="latency", endpoint="list_vms", seconds=0.3, count=1))
    client = HostingerClient(
        base_url=fleet_fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
    )
    view = FleetView(client, ManualClock(fleet_fake.server_now()))
    with client, ThreadPoolExecutor(VMS) as pool:
        machines = list(pool.map(view.machine, fleet_fake.vm_ids))

    assert [machine.id for machine in machines] == fleet_fake.vm_ids
    assert kinds(fleet_fake.requests) == ["list"]


def test_a_second_look_a_stale_list_and_a_missing_vm_read_the_vm_alone(
    pipeline: Pipeline,
) -> None:
    fake, clock = pipeline.fake, pipeline.clock
    view = FleetView(pipeline.client, clock)
    first, second = fake.vm_ids[:2]

    view.machine(first)
    fake.set_actions_lock(first, "locked")
    assert view.machine(first).is_locked  # the list answered for it once already
    with pytest.raises(NotFoundError):
        view.machine(42)  # not in the list: asked alone, and the API does not know it
    assert kinds(fake.requests) == ["list", "vm", "vm"]

    clock.advance(FRESH_FOR.total_seconds() + 1)
    fake.clear_requests()
    view.machine(second)
    assert kinds(fake.requests) == ["list"]  # too old: a new list call


def test_a_failed_list_call_fails_every_caller_that_waited_for_it(
    fleet_fake: FakeHostinger,
) -> None:
    fleet_fake.inject(Fault(kind="latency", endpoint="list_vms", seconds=0.3, count=1))
    fleet_fake.inject(Fault(kind="status", endpoint="list_vms", status=501, count=1))
    client = HostingerClient(
        base_url=fleet_fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
    )
    view = FleetView(client, ManualClock(fleet_fake.server_now()))
    errors: list[BaseException] = []
    lock = threading.Lock()

    def look(virtual_machine_id: int) -> None:
        try:
            view.machine(virtual_machine_id)
        except ServerError as error:
            with lock:
                errors.append(error)

    with client, ThreadPoolExecutor(4) as pool:
        list(pool.map(look, fleet_fake.vm_ids[:4]))

    assert len(errors) == 4
    assert kinds(fleet_fake.requests) == ["list"]


def test_a_vm_busy_at_the_first_look_is_read_alone_until_it_is_idle(pipeline: Pipeline) -> None:
    fake, clock = pipeline.fake, pipeline.clock
    vm = fake.vm_ids[0]
    fake.set_actions_lock(vm, "locked")
    original_sleep = clock.sleep

    def sleep_then_unlock(seconds: float) -> None:
        original_sleep(seconds)
        fake.set_actions_lock(vm, "unlocked")

    clock.sleep = sleep_then_unlock  # type: ignore[method-assign]
    outcome = pipeline.engine.start_slot(make_policy(vm), None).result()

    assert outcome.result is Result.SUCCESS
    calls = kinds(fake.requests)
    assert calls[:5] == ["list", "snapshot", "vm", "snapshot", "create"]
