"""Many VMs' slots at once with a bounded number of threads: ``snapd once`` and the daemon.

A :class:`~snapd.pipeline.workers.WorkerPool` runs pre-flight, checks and send, and after
the wait verify and record; one :class:`~snapd.pipeline.poller.ActionPoller` waits for
every accepted action in between. Slots queue by urgency
(:class:`~snapd.pipeline.urgency.Urgency`): the restore point that ends first goes first.
When more slots are queued than there are workers, ``pass_started`` tells when the queue
should be through, at the request budget's pace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from structlog.contextvars import bound_contextvars

from snapd.clock import utc_text
from snapd.config import VirtualMachinePolicy
from snapd.pipeline.engine import Engine
from snapd.pipeline.outcome import Outcome
from snapd.pipeline.poller import ActionPoller
from snapd.pipeline.urgency import Urgency
from snapd.pipeline.workers import DEFAULT_WORKERS, WorkerPool

log = structlog.get_logger("snapd.fleet")

# API calls of one verified snapshot: snapshot read, create, a poll, the read-back.
CALLS_PER_VM = 4

# How long a stop waits for the poller to hand its waits back (it is at most inside one
# poll, which a closed budget ends at once).
POLLER_CLOSE_SECONDS = 2.0
# Asked on the worker right before a slot's pipeline; False: the slot does not run.
Started = Callable[[], bool]
# Called exactly once per submitted slot: its outcome (None when nothing ran) or its error.
Done = Callable[[Outcome | None, BaseException | None], None]


class FleetRunner:
    """Queues slots, runs them on ``workers`` threads, waits for actions on one more.

    The poller waits on the engine's clock. ``requests_per_minute`` is the request
    budget, for the expected finish of a large pass.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = DEFAULT_WORKERS,
        requests_per_minute: float | None = None,
        urgency: Urgency | None = None,
    ) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.urgency = urgency or Urgency()
        self.requests_per_minute = requests_per_minute
        self.pool = WorkerPool(workers)
        self.poller = ActionPoller(
            engine.client,
            engine.clock,
            self.pool.submit,
            should_stop=lambda: engine.should_stop(),
        )
        self._lock = threading.Lock()
        self._in_pass = False

    def submit_slot(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        done: Done,
        *,
        started: Started | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> None:
        """Queue the engine's pipeline for ``policy``'s VM and ``slot`` (None: now, as
        ``snapd once``) by urgency: the one way a slot starts, for the daemon and ``once``.

        On the worker, ``started`` is asked first: False ends the slot with nothing run
        (``done(None, None)``); it is where the caller says "started" (log, notification).
        ``done`` is called exactly once. Raise ``RuntimeError`` once closed.
        """
        priority = self.urgency.priority(policy, self.clock.now())

        def run() -> None:
            self._announce_pass()
            try:
                # With several accounts every line of the slot names the VM's account.
                account = {"account": policy.account} if policy.account else {}
                with bound_contextvars(vm=policy.id, **account):
                    if started is not None and not started():
                        done(None, None)
                        return
                    later = self.engine.start_slot(
                        policy, slot, self.poller.watch, dry_run=dry_run, force=force
                    )
            except BaseException as error:
                done(None, error)
                return
            later.subscribe(lambda outcome, error: self._finished(outcome, error, done))

        self.pool.submit(run, priority)

    def close(self, *, cancel_queued: bool = False) -> int:
        """Take no more slots and end every wait (the actions stay pending; their
        continuations still record that); drop the queued slots if asked (returns how many)."""
        self.poller.close(POLLER_CLOSE_SECONDS)
        return self.pool.close(cancel_queued=cancel_queued)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` for the workers to end (after ``close``)."""
        return self.pool.join(timeout)

    def _finished(self, outcome: Outcome | None, error: BaseException | None, done: Done) -> None:
        if outcome is not None:
            self.urgency.learn(outcome)
        done(outcome, error)

    def _announce_pass(self) -> None:
        """Log ``pass_started`` when the queue first outgrows the workers; again only after
        it has drained."""
        queued = self.pool.queued()
        with self._lock:
            if queued == 0:
                self._in_pass = False
                return
            if self._in_pass or queued <= self.pool.workers:
                return
            self._in_pass = True
        fields: dict[str, object] = {"queued": queued, "workers": self.pool.workers}
        if self.requests_per_minute:
            minutes = queued * CALLS_PER_VM / self.requests_per_minute
            finish = self.clock.now() + timedelta(minutes=minutes)
            fields["expected_finish"] = utc_text(finish, whole_seconds=True)
            fields["requests_per_minute"] = self.requests_per_minute
        log.info("pass_started", **fields)
