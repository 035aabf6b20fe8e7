"""WorkerPool: a fixed number of threads, continuations first, then new slots by urgency."""

from __future__ import annotations

import threading

import pytest
import structlog

from snapd.pipeline.workers import CONTINUATION, MAXIMUM_WORKERS, WorkerPool

WAIT_SECONDS = 30.0


def blocked_pool() -> tuple[WorkerPool, threading.Event]:
    """A pool of one worker held busy until the returned event is set."""
    pool = WorkerPool(workers=1)
    release = threading.Event()
    pool.submit(lambda: release.wait(WAIT_SECONDS) and None)
    return pool, release


def test_queued_tasks_run_continuations_first_then_by_priority_then_in_order() -> None:
    pool, release = blocked_pool()
    ran: list[str] = []
    pool.submit(lambda: ran.append("later slot"), (1, 50.0))
    pool.submit(lambda: ran.append("urgent slot"), (1, 1.0))
    pool.submit(lambda: ran.append("equal, first"), (1, 20.0))
    pool.submit(lambda: ran.append("equal, second"), (1, 20.0))
    pool.submit(lambda: ran.append("continuation"), CONTINUATION)

    release.set()
    assert pool.join(WAIT_SECONDS)
    assert ran == ["continuation", "urgent slot", "equal, first", "equal, second", "later slot"]
    pool.close()


def test_no_more_threads_than_workers_whatever_is_queued() -> None:
    pool = WorkerPool(workers=3, name="bounded")
    release = threading.Event()
    for _ in range(20):
        pool.submit(lambda: release.wait(WAIT_SECONDS) and None)

    names = [thread.name for thread in threading.enumerate() if thread.name.startswith("bounded")]
    assert len(names) == 3
    assert pool.busy() == 20
    release.set()
    assert pool.join(WAIT_SECONDS)
    pool.close()


def test_the_pool_is_bounded_by_the_maximum_and_needs_one_worker() -> None:
    assert WorkerPool(workers=1000).workers == MAXIMUM_WORKERS
    with pytest.raises(ValueError, match="at least one worker"):
        WorkerPool(workers=0)


def test_a_closed_pool_refuses_new_tasks_and_may_drop_the_queued_slots_only() -> None:
    pool, release = blocked_pool()
    ran: list[str] = []
    pool.submit(lambda: ran.append("slot"), (1, 1.0))
    pool.submit(lambda: ran.append("continuation"), CONTINUATION)

    assert pool.close(cancel_queued=True) == 1
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(lambda: None)
    release.set()
    assert pool.join(WAIT_SECONDS)
    assert ran == ["continuation"]


def test_a_crashing_task_is_logged_and_the_worker_goes_on() -> None:
    pool = WorkerPool(workers=1)
    ran: list[str] = []

    def crash() -> None:
        raise ZeroDivisionError("a defect")

    with structlog.testing.capture_logs() as logs:
        pool.submit(crash)
        pool.submit(lambda: ran.append("next"))
        assert pool.join(WAIT_SECONDS)

    assert ran == ["next"]
    assert [line["event"] for line in logs] == ["worker_task_crashed"]
    pool.close()
