"""The budget's line of sleeping callers: a pause pushes every slot behind it, in order."""

from __future__ import annotations

from snapd.hostinger.waiting_line import WaitingLine


def test_a_pause_moves_every_reserved_slot_behind_its_end_at_the_steady_pace() -> None:
    line = WaitingLine()
    first, second = line.join(1.0), line.join(2.0)

    free = line.push_behind(10.0, 1.5)

    assert (line.slot(first), line.slot(second), free) == (10.0, 11.5, 13.0)


def test_a_slot_already_later_than_the_pause_keeps_its_place() -> None:
    line = WaitingLine()
    early, late = line.join(1.0), line.join(30.0)

    assert line.push_behind(10.0, 1.0) == 31.0
    assert (line.slot(early), line.slot(late)) == (10.0, 30.0)


def test_a_caller_who_left_is_not_pushed_and_may_leave_twice() -> None:
    line = WaitingLine()
    gone, staying = line.join(1.0), line.join(2.0)
    line.leave(gone)
    line.leave(gone)

    assert line.push_behind(5.0, 1.0) == 6.0
    assert line.slot(staying) == 5.0
