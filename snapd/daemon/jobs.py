"""The daemon's running jobs: how many, since when, and which have overrun their bound.

A job that runs far past the longest a slot can take (busy_timeout + action_timeout +
checks and hooks) is wedged: the watchdog stops pinging so that systemd restarts the
daemon, and a stop does not wait for it beyond the stop bound.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

from snapd.clock import Clock, SystemClock
from snapd.config import VirtualMachinePolicy

# Added to a slot's own bound before a job counts as wedged: pauses behind the request
# budget and the API's own latency are not the job's fault.
WEDGE_MARGIN = timedelta(minutes=10)


def slot_bound(policy: VirtualMachinePolicy) -> timedelta:
    """The longest one slot of ``policy`` may take before it is wedged."""
    bound = policy.busy_timeout + policy.action_timeout + WEDGE_MARGIN
    if policy.health_check is not None:
        bound += policy.health_check.timeout
    for hook in (policy.pre_hook, policy.post_hook):
        if hook is not None:
            bound += hook.timeout
    return bound


@dataclass(frozen=True)
class RunningJob:
    virtual_machine_id: int
    started: float  # monotonic seconds
    bound: float  # seconds


class RunningJobs:
    """Thread-safe register of jobs in progress."""

    def __init__(self, clock: Clock | None = None) -> None:
        """``clock`` (default: the real one) measures how long each job has run."""
        self._clock = clock or SystemClock()
        self._jobs: dict[int, RunningJob] = {}
        self._numbers = itertools.count()
        self._changed = threading.Condition()

    @contextmanager
    def running(self, policy: VirtualMachinePolicy) -> Iterator[bool]:
        """Register a job for ``policy``'s VM while the block runs; yield ``True``.

        When a job of this daemon already runs for the VM, nothing is registered and the
        block gets ``False``: the caller coalesces into the running job.
        """
        number = self.begin(policy)
        if number is None:
            yield False
            return
        try:
            yield True
        finally:
            self.end(number)

    def begin(self, policy: VirtualMachinePolicy) -> int | None:
        """Register a job for ``policy``'s VM until ``end``; None when one already runs.

        A job runs from the moment it is queued until its outcome is recorded, also while
        no thread holds it (its action is with the poller).
        """
        number = next(self._numbers)
        job = RunningJob(policy.id, self._clock.monotonic(), slot_bound(policy).total_seconds())
        with self._changed:
            if any(other.virtual_machine_id == policy.id for other in self._jobs.values()):
                return None
            self._jobs[number] = job
        return number

    def working(self, number: int) -> None:
        """A worker took the job: its bound counts from now (a queue is not a wedge)."""
        with self._changed:
            job = self._jobs.get(number)
            if job is not None:
                self._jobs[number] = replace(job, started=self._clock.monotonic())

    def end(self, number: int) -> None:
        with self._changed:
            self._jobs.pop(number, None)
            self._changed.notify_all()

    def count(self) -> int:
        with self._changed:
            return len(self._jobs)

    def wait_idle(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for every job to end; return how many still run."""
        with self._changed:
            self._changed.wait_for(lambda: not self._jobs, timeout=timeout)
            return len(self._jobs)

    def wedged(self) -> list[int]:
        """VM ids of the jobs running longer than their bound."""
        now = self._clock.monotonic()
        with self._changed:
            jobs = list(self._jobs.values())
        return [job.virtual_machine_id for job in jobs if now - job.started > job.bound]


def liveness(stopping: bool, wedged: list[int]) -> tuple[bool, str]:
    """(alive, reason) of a daemon ``stopping`` or not, with the ``wedged`` jobs' VM ids.

    Not alive while stopping or while a job runs far past its bound: a wedged scheduler,
    which systemd's watchdog restarts and a container's liveness probe should restart too.
    """
    if stopping:
        return False, "stopping"
    if wedged:
        listed = ", ".join(str(virtual_machine_id) for virtual_machine_id in sorted(wedged))
        return False, f"wedged: a job far past its bound (virtual machine(s) {listed})"
    return True, "ok"
