"""APScheduler wiring: one job per VM from the policy, one-off runs, atomic replacement.

The scheduler only decides *when*; what happens in a run is the pipeline's business. A
slot's job only queues the run on the daemon's workers (:mod:`snapd.pipeline.fleet`), so
the scheduler's own thread pool stays small whatever the fleet's size; housekeeping (the
inventory, catch-up checks) shares it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from snapd.clock import Clock, SystemClock
from snapd.config import VirtualMachinePolicy
from snapd.config.schedule import StandardCronTrigger, build_trigger, next_slots, previous_slot

log = structlog.get_logger("snapd.scheduler")

# APScheduler's default grace of one second silently drops a job that starts late (a busy
# pool, a suspended laptop, a slow start). A late slot must still run, once.
MISFIRE_GRACE = timedelta(days=1)
# Threads that fire jobs: queueing a slot takes microseconds, housekeeping a few of them.
SCHEDULER_THREADS = 6
# Their names (``snapd-scheduler_0`` and on): what a test's clock driver recognises.
SCHEDULER_THREAD_PREFIX = "snapd-scheduler"


class RunPurpose(StrEnum):
    """Why a run was started: its schedule, a missed slot, an expiring snapshot or a
    pending action left by an earlier process. The value is logged and names the job."""

    SCHEDULED = "scheduled"
    CATCH_UP = "catch_up"
    REFRESH = "refresh"
    RESUME = "resume"


# run(virtual_machine_id, slot, purpose)
SlotRunner = Callable[[int, datetime | None, RunPurpose], None]


class RunsSoon(Protocol):
    """A scheduler that runs a VM once outside its schedule (``SlotScheduler``, or a
    simulation's); what catch-ups and expiry refreshes need of it, with one lookup each."""

    def run_soon(
        self,
        virtual_machine_id: int,
        slot: datetime | None,
        purpose: RunPurpose,
        at: datetime | None = None,
    ) -> None: ...


class _BackgroundScheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, quiet about one race at shutdown.

    When the scheduler stops while it is removing a one-off job that just ran, APScheduler
    3 looks the job up in the wrong place and its thread dies with ``JobLookupError``.
    Nothing is lost (the job ran); the traceback would only alarm whoever reads the log.
    """

    def _process_jobs(self) -> float | None:
        try:
            wait: float | None = super()._process_jobs()
        except JobLookupError:
            return RETRY_PROCESSING_SECONDS
        return wait


RETRY_PROCESSING_SECONDS = 1.0


def refresh_time(
    expires_at: datetime,
    next_slot: datetime | None,
    refresh_before_expiry: timedelta,
    now: datetime,
) -> datetime | None:
    """When to refresh a snapshot that would expire before the next slot, or None.

    The refresh is due ``refresh_before_expiry`` before expiry (now, if that has passed);
    no refresh is needed when a regular slot comes first.
    """
    latest_safe = expires_at - refresh_before_expiry
    if next_slot is not None and next_slot <= latest_safe:
        return None
    return max(now, latest_safe)


class SlotScheduler:
    """Owns the ``BackgroundScheduler``; every method is thread-safe. ``clock`` (default:
    the real one) tells the slots' "now"; the ``BackgroundScheduler`` fires in real time."""

    def __init__(self, run: SlotRunner | None, clock: Clock | None = None) -> None:
        self._runner = run
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._triggers: dict[int, StandardCronTrigger] = {}
        self._policies: dict[int, VirtualMachinePolicy] = {}
        self._scheduler = _BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(
                    SCHEDULER_THREADS, pool_kwargs={"thread_name_prefix": SCHEDULER_THREAD_PREFIX}
                )
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            },
        )

    def bind(self, run: SlotRunner) -> None:
        """Name what a job runs, when the scheduler was built before its runner."""
        self._runner = run

    def _run(self, virtual_machine_id: int, slot: datetime | None, purpose: RunPurpose) -> None:
        if self._runner is None:
            raise RuntimeError("the scheduler fired before a runner was bound")
        self._runner(virtual_machine_id, slot, purpose)

    def start(self, policies: Iterable[VirtualMachinePolicy]) -> None:
        """Add a job per VM and start the scheduler thread."""
        self.replace(policies)
        self._scheduler.start()

    def replace(self, policies: Iterable[VirtualMachinePolicy]) -> None:
        """Make the jobs match ``policies``: add, reschedule and remove as needed."""
        wanted = {policy.id: policy for policy in policies}
        with self._lock:
            for virtual_machine_id in set(self._policies) - set(wanted):
                self._remove_jobs(virtual_machine_id)
            for virtual_machine_id, policy in wanted.items():
                trigger = build_trigger(
                    policy.schedule, policy.timezone, int(policy.jitter.total_seconds())
                )
                self._triggers[virtual_machine_id] = trigger
                self._policies[virtual_machine_id] = policy
                self._scheduler.add_job(
                    self._fire_scheduled,
                    trigger=trigger,
                    args=(virtual_machine_id,),
                    id=_job_id(virtual_machine_id, RunPurpose.SCHEDULED),
                    name=f"snapshot of {policy.name} ({virtual_machine_id})",
                    replace_existing=True,
                )

    def _remove_jobs(self, virtual_machine_id: int) -> None:
        for purpose in RunPurpose:
            job = self._scheduler.get_job(_job_id(virtual_machine_id, purpose))
            if job is not None:
                job.remove()
        self._triggers.pop(virtual_machine_id, None)
        self._policies.pop(virtual_machine_id, None)

    def _fire_scheduled(self, virtual_machine_id: int) -> None:
        with self._lock:
            trigger = self._triggers.get(virtual_machine_id)
            policy = self._policies.get(virtual_machine_id)
        if trigger is None or policy is None:
            return
        # The identity of a run is its un-jittered slot: the latest slot not after now.
        window = policy.jitter + MISFIRE_GRACE
        slot = previous_slot(trigger, self._clock.now(), window)
        self._run(virtual_machine_id, slot, RunPurpose.SCHEDULED)

    def run_soon(
        self,
        virtual_machine_id: int,
        slot: datetime | None,
        purpose: RunPurpose,
        at: datetime | None = None,
    ) -> None:
        """Run the VM once at ``at`` (default: now) outside its schedule."""
        when = at or self._clock.now()
        self._scheduler.add_job(
            self._run,
            trigger=DateTrigger(run_date=when, timezone=UTC),
            args=(virtual_machine_id, slot, purpose),
            id=_job_id(virtual_machine_id, purpose),
            name=f"{purpose} of {virtual_machine_id}",
            replace_existing=True,
        )

    def every(self, interval: timedelta, function: Callable[[], None], name: str) -> None:
        """Run ``function`` now and then every ``interval`` (housekeeping, not slots)."""
        self._scheduler.add_job(
            function,
            trigger=IntervalTrigger(seconds=int(interval.total_seconds()), timezone=UTC),
            id=f"housekeeping:{name}",
            name=name,
            next_run_time=self._clock.now(),
            replace_existing=True,
        )

    def last_slot(self, virtual_machine_id: int, window: timedelta) -> datetime | None:
        """The VM's latest slot within ``window`` before now (catch-up)."""
        with self._lock:
            trigger = self._triggers.get(virtual_machine_id)
        if trigger is None:
            return None
        return previous_slot(trigger, self._clock.now(), window)

    def next_slot(self, virtual_machine_id: int) -> datetime | None:
        """The VM's next un-jittered slot after now."""
        with self._lock:
            trigger = self._triggers.get(virtual_machine_id)
        if trigger is None:
            return None
        upcoming = next_slots(trigger, self._clock.now(), 1)
        return upcoming[0] if upcoming else None

    def next_run(self, virtual_machine_id: int) -> datetime | None:
        """When APScheduler will next fire the VM's scheduled job (jitter included)."""
        job = self._scheduler.get_job(_job_id(virtual_machine_id, RunPurpose.SCHEDULED))
        run_time: datetime | None = getattr(job, "next_run_time", None) if job else None
        return run_time

    def shutdown(self) -> None:
        """Stop firing jobs; running ones are not waited for (they see the stop flag)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def _job_id(virtual_machine_id: int, purpose: RunPurpose) -> str:
    return f"{virtual_machine_id}:{purpose}"
