"""Later: a value or an error, now or later; steps run in whichever thread delivers it."""

from __future__ import annotations

import threading

import pytest

from snapd.pipeline.later import Later, NotFinishedError


def test_a_step_added_to_a_delivered_value_runs_at_once() -> None:
    assert Later.of(2).then(lambda value: value * 10).result() == 20


def test_a_step_added_before_the_value_runs_in_the_thread_that_delivers_it() -> None:
    later: Later[int] = Later()
    ran_in: list[str] = []
    following = later.then(lambda value: ran_in.append(threading.current_thread().name) or value)

    deliverer = threading.Thread(target=later.deliver, args=(7,), name="deliverer")
    deliverer.start()
    deliverer.join()

    assert ran_in == ["deliverer"]
    assert following.result() == 7


def test_an_error_skips_the_steps_after_it_and_reaches_the_end() -> None:
    ran: list[int] = []

    def broken(value: int) -> int:
        raise ValueError("step failed")

    end = Later.of(1).then(broken).then(lambda value: ran.append(value) or value)

    with pytest.raises(ValueError, match="step failed"):
        end.result()
    assert ran == []


def test_always_runs_after_a_value_and_after_an_error_and_passes_either_on() -> None:
    released: list[str] = []
    kept = Later.of(3).always(lambda: released.append("after a value"))
    failed: Later[int] = Later()
    passed_on = failed.always(lambda: released.append("after an error"))
    failed.fail(LookupError("no such VM"))

    assert kept.result() == 3
    with pytest.raises(LookupError):
        passed_on.result()
    assert released == ["after a value", "after an error"]


def test_an_error_in_always_does_not_hide_the_error_before_it() -> None:
    def release() -> None:
        raise RuntimeError("release failed")

    failed: Later[int] = Later()
    end = failed.always(release)
    failed.fail(LookupError("the first error"))

    with pytest.raises(LookupError, match="the first error"):
        end.result()


def test_then_later_waits_for_the_inner_result() -> None:
    inner: Later[str] = Later()
    end = Later.of(1).then_later(lambda value: inner)

    with pytest.raises(NotFinishedError):
        end.result()
    inner.deliver("done")
    assert end.result() == "done"


def test_each_subscriber_is_called_exactly_once_and_a_later_finishes_only_once() -> None:
    later: Later[int] = Later()
    calls: list[tuple[int | None, BaseException | None]] = []
    later.subscribe(lambda value, error: calls.append((value, error)))
    later.deliver(5)
    later.subscribe(lambda value, error: calls.append((value, error)))

    assert calls == [(5, None), (5, None)]
    with pytest.raises(RuntimeError, match="only once"):
        later.deliver(6)
