"""Virtual time, event by event: each due slot goes to the runtime's engine, as in the daemon.

One ``ManualClock`` is shared by the fake API, the client, the request budget and the
pipeline, so an action that takes minutes completes when the pipeline has waited
virtual minutes, and nothing sleeps for real. Slots come from the policy's own trigger
(cron, time zone, DST), delayed by a seeded jitter; a slot missed while the daemon is
down is caught up at its restart by the daemon's own start-up look (``restart``). Slots
due together look and send one after another; their actions are
polled as events (``waits``), so the waits overlap as with the daemon's poller.
"""

from __future__ import annotations

import heapq
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from snapd.checks.result import HookResult
from snapd.clock import ManualClock
from snapd.config import Config, HealthCheck, VirtualMachinePolicy
from snapd.config.ledger import LedgerSettings
from snapd.config.schedule import iter_slots
from snapd.ledger import Hold
from snapd.pipeline.outcome import Outcome, Result
from snapd.runtime import Runtime, budget_on, open_runtime
from snapd.simulate.api_faults import API_KINDS, ApiFaults
from snapd.simulate.faults import Trouble, TroubleKind
from snapd.simulate.folder import memory_folder
from snapd.simulate.inprocess import IN_PROCESS_BASE_URL, InProcessConnections
from snapd.simulate.invariants import Before, Invariants
from snapd.simulate.record import History, created_at, creates_of
from snapd.simulate.refresh import SimulatedScheduler, refresh_planner
from snapd.simulate.restart import start_daemon
from snapd.simulate.waits import VirtualPoller
from snapd.simulate.world import FakeApi, Request

STOPPED_STATE = "stopped"


@dataclass(order=True)
class _Event:
    moment: datetime
    order: int
    kind: str = field(compare=False)
    virtual_machine_id: int = field(compare=False, default=0)
    slot: datetime | None = field(compare=False, default=None)
    trouble: Trouble | None = field(compare=False, default=None)
    step: Callable[[], None] | None = field(compare=False, default=None)
    life: int = field(compare=False, default=0)


class Simulation:
    """Runs ``config``'s VMs for ``days`` against ``api`` on ``clock``; see ``run``."""

    def __init__(
        self,
        config: Config,
        api: FakeApi,
        clock: ManualClock,
        troubles: list[Trouble],
        days: int,
        seed: int,
    ) -> None:
        self.config = config
        self.api = api
        self.clock = clock
        self.start = clock.now()
        self.end = self.start + timedelta(days=days)
        self.troubles = troubles
        self.chance = random.Random(seed)
        self.invariants = Invariants()
        self.history = History(self.start, self.end)
        self._events: list[_Event] = []
        self._order = 0
        self._unhealthy: set[int] = set()
        self._stopped: set[int] = set()
        self._held: set[int] = set()
        self._running: int | None = None  # the VM whose slot runs now
        self._manual: dict[int, datetime] = {}
        self._daemon_down = False
        self._scheduler = SimulatedScheduler(config, clock, self._queue_run)
        self._life = 0  # how many restarts the daemon had: its one-off runs die with it

    def run(self) -> History:
        """Walk every event to the end; return what happened (breaches in ``invariants``)."""
        with tempfile.TemporaryDirectory(prefix="snapd-simulate-", dir=memory_folder()) as state:
            runtime = self._runtime(Path(state))
            try:
                self._schedule_everything()
                while self._events and self._events[0].moment < self.end:
                    event = heapq.heappop(self._events)
                    self._advance_to(event.moment)
                    self._handle(runtime, event)
                    self._drain()
            finally:
                runtime.close()
        self._advance_to(self.end)
        return self.history

    def _runtime(self, state: Path) -> Runtime:
        config = replace(
            self.config,
            api=replace(self.config.api, base_url=IN_PROCESS_BASE_URL),
            state_dir=state,
            ledger=LedgerSettings(),
        )
        budget = budget_on(config, self.clock)
        runtime = open_runtime(
            config, clock=self.clock, budget=budget, token=self.api.token,
            connections=InProcessConnections(self.api),
        )  # fmt: skip
        # Health checks are decided here (the VM's simulated health), and no hook runs a
        # real command: the simulation touches nothing outside this process.
        runtime.engine.health_check = self._health_check
        runtime.engine.hook_runner = lambda hook, environment: HookResult(True, "simulated hook")
        self._api_faults = ApiFaults(self.api)
        self._refresh = refresh_planner(self._scheduler)
        self._poller = VirtualPoller(runtime.client, self.clock, self._at)
        return runtime

    def _queue_run(self, vm: int, slot: datetime | None, moment: datetime) -> None:
        """A run outside the schedule (refresh, catch-up, resume), as ``run_soon`` asks."""
        self._push(moment, "run", virtual_machine_id=vm, slot=slot, life=self._life)

    def _at(self, moment: datetime, step: Callable[[], None]) -> None:
        self._push(moment, "step", step=step)

    def _health_check(self, check: HealthCheck) -> HookResult:
        """Fails while the running VM is unhealthy; the URL is never asked."""
        if self._running in self._unhealthy:
            return HookResult(False, "simulated health check", cause="unhealthy")
        return HookResult(True, "simulated health check")

    def _push(self, moment: datetime, kind: str, **details: object) -> None:
        self._order += 1
        heapq.heappush(self._events, _Event(moment, self._order, kind, **details))  # type: ignore[arg-type]

    def _schedule_everything(self) -> None:
        for policy in self.config.vms:
            self.history.add(policy)
            self._next_slot(policy, self.start)
        for trouble in self.troubles:
            self._push(self.start + trouble.at, "begin", trouble=trouble)
            if trouble.length:
                self._push(self.start + trouble.end, "finish", trouble=trouble)
            self.history.fault(trouble, self.start, self.config)

    def _next_slot(self, policy: VirtualMachinePolicy, after: datetime) -> None:
        for slot in iter_slots(self._scheduler.trigger(policy.id), after):
            delay = timedelta(seconds=self.chance.uniform(0, policy.jitter.total_seconds()))
            self._push(slot + delay, "slot", virtual_machine_id=policy.id, slot=slot)
            return

    def _advance_to(self, moment: datetime) -> None:
        seconds = (moment - self.clock.now()).total_seconds()
        if seconds > 0:
            self.clock.advance(seconds)

    def _handle(self, runtime: Runtime, event: _Event) -> None:
        if event.step is not None:
            event.step()
        elif event.kind in ("slot", "run"):
            policy = self._scheduler.policies[event.virtual_machine_id]
            if event.kind == "slot":
                assert event.slot is not None
                self._next_slot(policy, event.slot)
            # A stopped daemon runs nothing, a restarted one forgot its one-off runs: what
            # it owes, its start-up look finds.
            if not self._daemon_down and (event.kind == "slot" or event.life == self._life):
                self._run_slot(runtime, policy, event.slot)
        elif event.trouble is not None:
            self._trouble(runtime, event.trouble, begin=event.kind == "begin")

    def _trouble(self, runtime: Runtime, trouble: Trouble, *, begin: bool) -> None:
        now = self.clock.now()
        vms = [trouble.vm] if trouble.vm is not None else [p.id for p in self.config.vms]
        if trouble.kind in API_KINDS:
            self._api_faults.play(trouble, begin=begin)
        elif trouble.kind is TroubleKind.STOPPED:
            for vm in vms:
                self.api.set_vm_state(vm, STOPPED_STATE if begin else "running")
                (self._stopped.add if begin else self._stopped.discard)(vm)
        elif trouble.kind is TroubleKind.UNHEALTHY:
            for vm in vms:
                (self._unhealthy.add if begin else self._unhealthy.discard)(vm)
        elif trouble.kind is TroubleKind.MANUAL:
            for vm in vms:
                self.api.set_snapshot(vm, now)
                self._manual[vm] = now
                self.history.restore_point(vm, now)
        elif trouble.kind is TroubleKind.HOLD:
            self._hold(runtime, vms, now + trouble.length, begin=begin)
        elif trouble.kind is TroubleKind.DAEMON_DOWN:
            self._daemon_down = begin
            if not begin:
                # A new process: its scheduler forgot the one-off runs, its planner too.
                self._life += 1
                self._refresh = refresh_planner(self._scheduler)
                start_daemon(runtime, self.config, self._scheduler, self._refresh)

    def _hold(self, runtime: Runtime, vms: list[int], until: datetime, *, begin: bool) -> None:
        """An operator's hold, through the ledger as ``snapd hold`` and ``snapd release``."""
        for vm in vms:
            if begin:
                runtime.ledger.set_hold(Hold(vm, until, "simulated hold", self.clock.now()))
            else:
                runtime.ledger.release_hold(vm)
            (self._held.add if begin else self._held.discard)(vm)

    def _run_slot(
        self, runtime: Runtime, policy: VirtualMachinePolicy, slot: datetime | None
    ) -> None:
        vm = policy.id
        current = self.api.snapshot_of(vm)
        created = created_at(current)
        manual = created is not None and self._manual.get(vm) == created
        failing = vm in self._unhealthy and policy.health_check is not None
        expired = created is None or self.clock.now() - created >= policy.snapshot_lifetime
        before = Before(
            created, manual, vm in self._stopped or failing, held=vm in self._held,
            unhealthy_without_restore_point=failing and expired and vm not in self._stopped,
        )  # fmt: skip
        self._running = vm
        later = runtime.engine.start_slot(policy, slot, self._poller)
        self._running = None
        creates = creates_of(self._drain(), vm)
        self.invariants.check_slot(policy, slot, before, creates)
        later.then(lambda outcome: self._finished(vm, created, outcome, len(creates)))

    def _finished(self, vm: int, created: datetime | None, outcome: Outcome, creates: int) -> None:
        """The slot's end (at once, or when its action ended): its restore point, its veto."""
        after = created_at(self.api.snapshot_of(vm))
        if after is not None and after != created:
            self.history.restore_point(vm, after)
        self._refresh.outcome(outcome)
        skipped = outcome.result is Result.SKIPPED
        self.history.outcome(vm, skipped, str(outcome.reason), creates)

    def _drain(self) -> list[Request]:
        """The requests since the last look, counted per day and per minute."""
        requests = list(self.api.requests)
        self.api.clear_requests()
        self.history.requests(request.at for request in requests)
        return requests
