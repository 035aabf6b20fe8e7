"""What the daemon does with each outcome and each snapshot the pipeline sees.

One ``DaemonObserver`` fans out, in this order, to the metrics, an outcome counter, the
notifications, the hold gauge and the expiry refresh: a snapshot that would expire before
the VM's next slot gets a refresh scheduled ahead of its expiry, once per expiry time. It
knows the daemon only through a policy lookup, a hold lookup, the scheduler and the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.daemon.scheduler import RunPurpose, RunsSoon, refresh_time
from snapd.hostinger import ApiError
from snapd.metrics import Metrics
from snapd.notify.notifier import Notifier
from snapd.pipeline.outcome import FanOut, NullOutcomeObserver, Outcome, SnapshotState

log = structlog.get_logger("snapd.daemon")

PolicyLookup = Callable[[int], VirtualMachinePolicy | None]


class RefreshScheduler(RunsSoon, Protocol):
    """What ``RefreshPlanner`` needs of a scheduler (``SlotScheduler``, or a simulation's)."""

    def next_slot(self, virtual_machine_id: int) -> datetime | None: ...


HoldLookup = Callable[[int], bool]  # whether an operator hold on the VM is active now


class OutcomeCounter(NullOutcomeObserver):
    """Counts outcomes per VM (the inventory drops reads that overlap one)."""

    def __init__(self) -> None:
        self._outcomes: dict[int, int] = {}
        self._lock = threading.Lock()

    def outcome(self, outcome: Outcome) -> None:
        with self._lock:
            vm = outcome.virtual_machine_id
            self._outcomes[vm] = self._outcomes.get(vm, 0) + 1

    def count(self, virtual_machine_id: int) -> int:
        with self._lock:
            return self._outcomes.get(virtual_machine_id, 0)


class NotificationWatch(NullOutcomeObserver):
    """Outcomes become notifications; a snapshot seen may warn that it expires soon."""

    def __init__(self, notifier: Notifier, policy: PolicyLookup, held: HoldLookup) -> None:
        self.notifier = notifier
        self.policy = policy
        self.held = held

    def outcome(self, outcome: Outcome) -> None:
        self.notifier.outcome(outcome)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        policy = self.policy(virtual_machine_id)
        if policy is not None and policy.notify is not None:
            self.notifier.snapshot_watched(policy, snapshot, self.held(virtual_machine_id))


class HoldGauge(NullOutcomeObserver):
    """After each outcome, export whether the VM is held (a restore holds it)."""

    def __init__(self, metrics: Metrics, held: HoldLookup) -> None:
        self.metrics = metrics
        self.held = held

    def outcome(self, outcome: Outcome) -> None:
        vm = outcome.virtual_machine_id
        self.metrics.set_hold(vm, self.held(vm))


class RefreshPlanner(NullOutcomeObserver):
    """Schedules a refresh for a snapshot that would expire before the VM's next slot."""

    def __init__(self, policy: PolicyLookup, scheduler: RefreshScheduler, clock: Clock) -> None:
        self.policy = policy
        self.scheduler = scheduler
        self.clock = clock
        self._refreshed: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def outcome(self, outcome: Outcome) -> None:
        # Checked after the run, not during it: a refresh due now would otherwise collide
        # with the run that is about to replace the snapshot anyway.
        current = outcome.new_snapshot if outcome.new_snapshot else outcome.old_snapshot
        self.consider(outcome.virtual_machine_id, current)

    def consider(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """Schedule a refresh when ``snapshot`` would expire before the VM's next slot."""
        if snapshot is None or snapshot.expires_at is None:
            return
        policy = self.policy(virtual_machine_id)
        if policy is None:
            return
        with self._lock:
            if self._refreshed.get(virtual_machine_id) == snapshot.expires_at:
                return  # this expiry already has its refresh
            when = refresh_time(
                snapshot.expires_at,
                self.scheduler.next_slot(virtual_machine_id),
                policy.refresh_before_expiry,
                self.clock.now(),
            )
            if when is None:
                return
            self._refreshed[virtual_machine_id] = snapshot.expires_at
        log.info(
            "refresh_scheduled", vm=virtual_machine_id, at=when, expires_at=snapshot.expires_at
        )
        self.scheduler.run_soon(virtual_machine_id, when, RunPurpose.REFRESH, at=when)


class DaemonObserver(FanOut):
    """The daemon's ``OutcomeObserver``: metrics, notifications, hold gauge, expiry refresh."""

    def __init__(
        self,
        metrics: Metrics,
        policy: PolicyLookup,
        held: HoldLookup,
        refresh: RefreshPlanner,
        notifier: Notifier | None = None,
    ) -> None:
        self.counter = OutcomeCounter()
        self.refresh = refresh
        watch = [NotificationWatch(notifier, policy, held)] if notifier is not None else []
        super().__init__(metrics, self.counter, *watch, HoldGauge(metrics, held), refresh)
        self._token_lock = threading.Lock()
        self._token_reported: set[str] = set()

    def token_refused(self, error: ApiError, account: str = "") -> None:
        """The API refused ``account``'s token: one error line for that account's fleet,
        then debug lines.

        A wrong token fails every VM of its account alike; one clear line says so, naming
        the account when the policy has several (and /readyz turns 503) instead of a
        warning per VM. Other accounts' slots go on with their own tokens.
        """
        with self._token_lock:
            first = account not in self._token_reported
            self._token_reported.add(account)
        report = log.error if first else log.debug
        fields = {"account": account} if account else {}
        report(
            "api_token_refused",
            **fields,
            vm=None,  # about the whole fleet, not the VM of the job that noticed it
            status=error.status,
            correlation_id=error.correlation_id,
            detail="the API refused the token; no snapshot is taken until snapd runs with one "
            "it accepts",
        )
        if not account:  # an account's own API observer saw its 401 already
            self.api_unauthorized()

    def outcome_count(self, virtual_machine_id: int) -> int:
        """Outcomes seen for the VM so far (the inventory drops reads that overlap one)."""
        return self.counter.count(virtual_machine_id)

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.refresh.consider(virtual_machine_id, snapshot)
