"""A replica's role in the daemon: waits that end when the lead is lost, and a new
leader's second looks at a VM the old leader still holds (manual clock, no database)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from snapd.clock import ManualClock
from snapd.daemon.leader import LeaderAwareClock, LeaderRole, TakeoverRetries
from snapd.ledger import OperationKind
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import Outcome, OutcomeReason, Result
from tests.conftest import START, make_policy

VM = 1268054


class Switch:
    def __init__(self) -> None:
        self.leading = True

    def is_leader(self) -> bool:
        return self.leading


def role(switch: Switch) -> LeaderRole:
    chosen = LeaderRole()
    chosen.leadership = switch
    return chosen


def test_without_a_shared_ledger_the_daemon_always_leads() -> None:
    assert LeaderRole().is_leader()


def test_a_wait_ends_early_once_the_lead_is_lost() -> None:
    clock, switch = ManualClock(START), Switch()
    waits = LeaderAwareClock(clock, role(switch), threading.Event())

    waits.sleep(2.0)
    assert clock.now() == START + timedelta(seconds=2)
    switch.leading = False
    waits.sleep(60.0)

    assert clock.now() == START + timedelta(seconds=2)


def test_a_wait_ends_early_on_a_stop() -> None:
    clock, stop = ManualClock(START), threading.Event()
    stop.set()

    LeaderAwareClock(clock, role(Switch()), stop).sleep(60.0)

    assert clock.now() == START


def skipped(reason: str) -> Outcome:
    return Outcome(VM, OperationKind.SNAPSHOT, START, Result.SKIPPED, reason, "busy", START, START)


def test_a_new_leader_looks_again_at_a_vm_the_old_one_holds_until_busy_timeout() -> None:
    clock = ManualClock(START)
    scheduled: list[tuple[int, datetime | None, str, datetime | None]] = []
    retries = TakeoverRetries(lambda *run: scheduled.append(run), clock)
    policy = make_policy(VM, busy_timeout=timedelta(seconds=12))

    retries.after(policy, START, "resume", skipped(Reason.OPERATION_IN_PROGRESS))
    clock.advance(10)
    retries.after(policy, START, "resume", skipped(Reason.OPERATION_IN_PROGRESS))
    clock.advance(5)
    retries.after(policy, START, "resume", skipped(Reason.OPERATION_IN_PROGRESS))

    assert scheduled == [
        (VM, START, "resume", START + timedelta(seconds=5)),
        (VM, START, "resume", START + timedelta(seconds=15)),
    ]


def test_other_outcomes_and_scheduled_slots_are_not_looked_at_again() -> None:
    scheduled: list[object] = []
    retries = TakeoverRetries(lambda *run: scheduled.append(run), ManualClock(START))
    policy = make_policy(VM)

    retries.after(policy, START, "scheduled", skipped(Reason.OPERATION_IN_PROGRESS))
    retries.after(policy, START, "catch_up", skipped(OutcomeReason.INTERRUPTED))

    assert scheduled == []
