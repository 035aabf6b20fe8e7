"""The decision, as a pure function: may this slot overwrite this VM's only snapshot?

No I/O and no clock: everything the decision needs arrives in ``Facts`` (``now``
included), so every guard is a table-driven test. The engine calls ``decide`` once before
the health check and pre-hook (so that a VM that would be skipped anyway is not bothered)
and again with their results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from snapd.clock import utc_text
from snapd.config.durations import format_duration


class Step(StrEnum):
    """What the decision says to do next (not an API action: that is ``hostinger.Action``)."""

    CREATE = "create"
    SKIP = "skip"
    DEFER = "defer"  # busy right now: try again within the slot's busy_timeout


class Reason(StrEnum):
    """Named reasons; they are metric label values, so the set is closed."""

    CREATE = "create"
    # A create although the health check failed: the VM has no restore point (no snapshot,
    # or only an expired one), so nothing good can be overwritten.
    CREATE_UNHEALTHY = "create_unhealthy"
    VM_STATE_NOT_ALLOWED = "vm_state_not_allowed"
    ACTIONS_LOCKED = "actions_locked"
    HELD = "held"
    SNAPSHOT_AGE_UNKNOWN = "snapshot_age_unknown"  # a snapshot whose created_at is unreadable
    SNAPSHOT_TOO_YOUNG = "snapshot_too_young"
    MANUAL_SNAPSHOT_PROTECTED = "manual_snapshot_protected"
    HEALTH_CHECK_FAILED = "health_check_failed"
    HOOK_VETOED = "hook_vetoed"
    SLOT_ALREADY_DONE = "slot_already_done"
    DRY_RUN = "dry_run"
    OPERATION_IN_PROGRESS = "operation_in_progress"  # another snapd process holds the VM


@dataclass(frozen=True)
class Guards:
    """The VM's guard settings (from its policy)."""

    allowed_states: tuple[str, ...]
    min_age: timedelta
    protect_manual: timedelta


@dataclass(frozen=True)
class Facts:
    """What is known about one VM at one moment.

    ``health_ok`` and ``pre_hook_ok`` are None when the check is not configured or has not
    run yet; ``check_cause`` is the failed one's short reason (``connection refused``,
    ``exit code 3: disk full``). ``snapshot_present`` with ``snapshot_created_at`` None is
    a snapshot whose age nobody knows; without ``snapshot_present`` the VM has no snapshot.
    ``snapshot_expires_at`` (None: not known) in the past means it is no restore point.
    """

    now: datetime
    virtual_machine_state: str
    actions_locked: bool
    snapshot_created_at: datetime | None
    snapshot_made_by_snapd: bool
    snapshot_present: bool = False
    snapshot_expires_at: datetime | None = None
    held_until: datetime | None = None
    slot_already_done: bool = False
    health_ok: bool | None = None
    pre_hook_ok: bool | None = None
    check_cause: str = ""  # why the failed health check or pre-hook said no
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True)
class Decision:
    action: Step
    reason: Reason
    detail: str

    @property
    def creates(self) -> bool:
        return self.action is Step.CREATE


def _age(facts: Facts) -> timedelta | None:
    if facts.snapshot_created_at is None:
        return None
    return facts.now - facts.snapshot_created_at


def _no_restore_point(facts: Facts) -> bool:
    """True when a create would overwrite nothing worth keeping: the VM has no snapshot,
    or only one that has expired."""
    if not facts.snapshot_present and facts.snapshot_created_at is None:
        return True
    return facts.snapshot_expires_at is not None and facts.snapshot_expires_at <= facts.now


def _skip(reason: Reason, detail: str) -> Decision:
    return Decision(Step.SKIP, reason, detail)


def decide(facts: Facts, guards: Guards) -> Decision:
    """Return what to do with this slot and why.

    Guards are checked in a fixed order, the cheapest and most final first. ``force``
    ignores ``min_age``, ``protect_manual`` and holds, nothing else: a stopped or busy
    VM, a failed health check or a vetoing hook still stop a forced run. A failed health
    check does not stop the first snapshot of a VM without a restore point (none, or only
    an expired one): there is nothing to protect, so it is taken as ``create_unhealthy``.
    """
    if facts.slot_already_done:
        return _skip(Reason.SLOT_ALREADY_DONE, "this slot already has a verified snapshot")
    if facts.virtual_machine_state not in guards.allowed_states:
        allowed = ", ".join(guards.allowed_states)
        return _skip(
            Reason.VM_STATE_NOT_ALLOWED,
            f"VM is {facts.virtual_machine_state}; snapshots only when {allowed}",
        )
    if not facts.force:
        if facts.held_until is not None and facts.held_until > facts.now:
            until = utc_text(facts.held_until, whole_seconds=True)
            return _skip(Reason.HELD, f"held until {until}")
        if facts.snapshot_present and facts.snapshot_created_at is None:
            # Fail closed: an age nobody knows could be an hour-old manual snapshot.
            return _skip(
                Reason.SNAPSHOT_AGE_UNKNOWN,
                "the current snapshot's created_at could not be read; not overwriting it",
            )
        age = _age(facts)
        if age is not None and age < guards.min_age:
            return _skip(
                Reason.SNAPSHOT_TOO_YOUNG,
                f"current snapshot is {_readable(age)} old, "
                f"younger than min_age {_readable(guards.min_age)}",
            )
        if age is not None and not facts.snapshot_made_by_snapd and age < guards.protect_manual:
            return _skip(
                Reason.MANUAL_SNAPSHOT_PROTECTED,
                f"current snapshot was not made by snapd and is {_readable(age)} old "
                f"(protect_manual {_readable(guards.protect_manual)})",
            )
    if facts.actions_locked:
        return Decision(Step.DEFER, Reason.ACTIONS_LOCKED, "another action runs on the VM")
    return _after_checks(facts)


def _after_checks(facts: Facts) -> Decision:
    """The end of ``decide``: what the health check and the pre-hook said, then dry-run."""
    cause = f": {facts.check_cause}" if facts.check_cause else ""
    unhealthy = facts.health_ok is False
    if unhealthy and not _no_restore_point(facts):
        return _skip(Reason.HEALTH_CHECK_FAILED, f"health check failed{cause}")
    if facts.pre_hook_ok is False:
        return _skip(Reason.HOOK_VETOED, f"pre-hook vetoed the snapshot{cause}")
    anyway = f"health check failed{cause}, but the VM has no restore point to protect"
    if facts.dry_run:
        why = f" ({anyway})" if unhealthy else ""
        return _skip(Reason.DRY_RUN, f"dry run: would create a snapshot{why}")
    if unhealthy:
        return Decision(Step.CREATE, Reason.CREATE_UNHEALTHY, f"{anyway}: taking it")
    return Decision(Step.CREATE, Reason.CREATE, "all guards passed")


def carry_checks(fresh: Facts, checked: Facts) -> Facts:
    """``fresh`` with the check results of ``checked``: the checks do not run twice."""
    return replace(
        fresh,
        health_ok=checked.health_ok,
        pre_hook_ok=checked.pre_hook_ok,
        check_cause=checked.check_cause,
    )


def _readable(duration: timedelta) -> str:
    return format_duration(timedelta(seconds=int(duration.total_seconds())))
