"""What a notification says: the event an outcome is, the ping to send, the bodies.

Pure functions of an outcome, the VM's name and RPO, and ``now``; nothing is sent here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from snapd import __version__
from snapd.clock import utc_text
from snapd.pipeline.outcome import Outcome, Result, SnapshotState

FAILURE_RESULTS = (Result.FAILED, Result.UNVERIFIED, Result.TIMEOUT, Result.AMBIGUOUS)
_EVENTS = MappingProxyType(
    {
        Result.SUCCESS: "success",
        Result.DRY_RUN: "success",  # a rehearsal that would have created; marked dry_run
        Result.SKIPPED: "skip",
        **{result: "failure" for result in FAILURE_RESULTS},
    }
)
_HEADLINES = MappingProxyType(
    {
        "start": "slot started",
        "success": "snapshot verified",
        "failure": "snapshot FAILED",
        "skip": "slot skipped",
        "expiring": "snapshot expires soon",
        "hold_expiring": "snapshot expires while the VM is on hold",
        "test": "test notification",
    }
)


@dataclass(frozen=True)
class Notification:
    """One thing to tell: ``event`` is start, success, failure, skip, expiring,
    hold_expiring or test; ``outcome`` the pipeline's result when there is one."""

    event: str
    virtual_machine_id: int
    name: str
    slot: datetime | None = None
    outcome: str | None = None
    reason: str = ""
    detail: str = ""
    snapshot: SnapshotState | None = None
    correlation_id: str | None = None
    dry_run: bool = False


def from_outcome(outcome: Outcome, name: str) -> Notification | None:
    """The notification of a snapshot slot's outcome; None for what is not told
    (restore and delete, and a run interrupted by a stop, which resumes later)."""
    event = _EVENTS.get(outcome.result)
    if outcome.kind != "snapshot" or event is None:
        return None
    current = outcome.new_snapshot or outcome.old_snapshot
    return Notification(
        event=event,
        virtual_machine_id=outcome.virtual_machine_id,
        name=name,
        slot=outcome.slot,
        outcome=outcome.result.value,
        reason=outcome.reason,
        detail=outcome.detail,
        snapshot=current,
        correlation_id=outcome.correlation_id,
        dry_run=outcome.dry_run,
    )


def ping_suffix(notification: Notification, rpo: timedelta | None, now: datetime) -> str | None:
    """What to append to the ping URL: ``/start``, ``""`` (success), ``/fail``, or None.

    A skip is a success for the dead man's switch while the VM keeps a restore point
    younger than its RPO, and a failure when it does not (or when its age is unknown).
    Dry runs never ping: a rehearsal must not tell the switch a restore point was made.
    """
    if notification.dry_run or notification.event in ("expiring", "hold_expiring"):
        return None
    if notification.event == "start":
        return "/start"
    if notification.event in ("success", "test"):
        return ""
    if notification.event == "skip":
        created = notification.snapshot.created_at if notification.snapshot else None
        if created is not None and rpo is not None and now - created <= rpo:
            return ""
    return "/fail"


def headline(notification: Notification) -> str:
    text = f"snapd: VM {notification.virtual_machine_id} ({notification.name}): "
    text += _HEADLINES.get(notification.event, notification.event)
    if notification.reason:
        text += f" ({notification.reason})"
    return "[dry run] " + text if notification.dry_run else text


def ping_body(notification: Notification) -> str:
    """A short plain-text body: VM, what happened and why, the correlation id."""
    lines = [headline(notification)]
    if notification.detail:
        lines.append(notification.detail)
    if notification.slot is not None:
        lines.append(f"slot: {utc_text(notification.slot, whole_seconds=True)}")
    if notification.correlation_id:
        lines.append(f"correlation id: {notification.correlation_id}")
    return "\n".join(lines) + "\n"


def _moment(moment: datetime | None) -> str | None:
    return utc_text(moment, whole_seconds=True) if moment is not None else None


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The JSON body of a webhook."""
    snapshot = notification.snapshot
    return {
        "event": notification.event,
        "vm": {"id": notification.virtual_machine_id, "name": notification.name},
        "slot": _moment(notification.slot),
        "outcome": notification.outcome,
        "reason": notification.reason,
        "detail": notification.detail,
        "snapshot": None
        if snapshot is None
        else {
            "id": snapshot.id,
            "created_at": _moment(snapshot.created_at),
            "expires_at": _moment(snapshot.expires_at),
        },
        "correlation_id": notification.correlation_id,
        "dry_run": notification.dry_run,
        "snapd_version": __version__,
    }


def webhook_body(notification: Notification, body_format: str) -> bytes:
    """JSON (``format: json``) or a Slack-compatible ``{"text": ...}`` message."""
    if body_format == "slack":
        return json.dumps({"text": ping_body(notification).rstrip("\n")}).encode()
    return json.dumps(webhook_payload(notification)).encode()


def sample_notification(virtual_machine_id: int, name: str) -> Notification:
    """What ``snapd notify test`` sends."""
    return Notification(
        event="test",
        virtual_machine_id=virtual_machine_id,
        name=name,
        detail="a test sent by 'snapd notify test'; nothing happened to the VM",
    )
