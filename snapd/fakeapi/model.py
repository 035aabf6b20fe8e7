"""The records the fake keeps (VMs, snapshots, backups, actions) and their JSON form.

Action progress is not driven by a thread: an action holds a *timeline* (offsets in
seconds from its creation, each with the state entered at that offset) and its state is
read off the timeline for any moment, so a manual clock moves actions along for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from snapd.fakeapi.errors import JsonObject

FINAL_ACTION_STATES = frozenset({"success", "error"})
SNAPSHOT_LIFETIME = timedelta(days=20)
SNAPSHOT_RESTORE_SECONDS = 1800
BACKUP_RESTORE_SECONDS = 3600
PER_PAGE = 15
# Fraction of the action duration after which a normal action moves from created to sent.
SENT_FRACTION = 0.1

TimelineStep = tuple[float, str]
Timeline = tuple[TimelineStep, ...]


def format_timestamp(moment: datetime) -> str:
    """Format like the API: UTC, second resolution, ``Z`` suffix (``2025-02-27T11:54:22Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: How ``GET …/snapshot`` may write its ``created_at``: the API's own form and the other
#: forms a server plausibly sends (snapd must read each), plus one nobody can read.
TIME_STYLES = ("iso", "iso_offset_fraction", "epoch", "epoch_text", "rfc2822", "utc_suffix",
               "unreadable")  # fmt: skip


def styled_timestamp(moment: datetime, style: str) -> object:
    """``moment`` written in ``style`` (one of :data:`TIME_STYLES`)."""
    utc = moment.astimezone(UTC)
    written: dict[str, object] = {
        "iso": format_timestamp(utc),
        "iso_offset_fraction": utc.astimezone(timezone(timedelta(hours=2))).isoformat(
            timespec="milliseconds"
        ),
        "epoch": int(utc.timestamp()),
        "epoch_text": str(int(utc.timestamp())),
        "rfc2822": format_datetime(utc),
        "utc_suffix": utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "unreadable": "yesterday, roughly",
    }
    return written[style]


def require_aware(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC; raise ``ValueError`` when it has no time zone."""
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be an aware datetime")
    return moment.astimezone(UTC)


def default_timeline(action_seconds: float) -> Timeline:
    """created, then sent after a small fraction, then success once ``action_seconds`` passed."""
    return ((0.0, "created"), (action_seconds * SENT_FRACTION, "sent"), (action_seconds, "success"))


def error_timeline(action_seconds: float) -> Timeline:
    """Like the default, but the action ends in ``error``."""
    return ((0.0, "created"), (action_seconds * SENT_FRACTION, "sent"), (action_seconds, "error"))


def endless_timeline(action_seconds: float) -> Timeline:
    """created, then sent, and never a final state."""
    return ((0.0, "created"), (action_seconds * SENT_FRACTION, "sent"))


def timeline_through(states: Sequence[str], action_seconds: float) -> Timeline:
    """Walk ``states`` in equal steps, the last one reached when ``action_seconds`` passed.

    With one state, that state holds from the start. When the last state is not final the
    action never finishes.
    """
    if not states:
        raise ValueError("an action needs at least one state")
    if len(states) == 1:
        return ((0.0, states[0]),)
    step = action_seconds / (len(states) - 1)
    return tuple((index * step, state) for index, state in enumerate(states))


@dataclass
class VirtualMachineRecord:
    """One VM. ``state`` is the resting state; a running restore shows as ``restoring``."""

    virtual_machine_id: int
    subscription_id: str
    data_center_id: int
    plan: str
    hostname: str
    cpus: int
    memory: int
    disk: int
    bandwidth: int
    ns1: str
    ns2: str
    ipv4: list[JsonObject]
    ipv6: list[JsonObject] | None
    template: JsonObject
    created_at: datetime
    state: str = "running"
    manually_locked: bool = False

    def to_json(self, *, state: str, actions_lock: str) -> JsonObject:
        """Render as ``VirtualMachineResource`` with the given effective state and lock."""
        return {
            "id": self.virtual_machine_id,
            "firewall_group_id": None,
            "subscription_id": self.subscription_id,
            "data_center_id": self.data_center_id,
            "plan": self.plan,
            "hostname": self.hostname,
            "state": state,
            "actions_lock": actions_lock,
            "cpus": self.cpus,
            "memory": self.memory,
            "disk": self.disk,
            "bandwidth": self.bandwidth,
            "ns1": self.ns1,
            "ns2": self.ns2,
            "ipv4": [dict(address) for address in self.ipv4],
            "ipv6": [dict(address) for address in self.ipv6] if self.ipv6 is not None else None,
            "template": dict(self.template),
            "created_at": format_timestamp(self.created_at),
        }


@dataclass(frozen=True)
class SnapshotRecord:
    """The single snapshot a VM may have."""

    snapshot_id: int
    created_at: datetime
    expires_at: datetime
    restore_time: int = SNAPSHOT_RESTORE_SECONDS

    def to_json(self) -> JsonObject:
        """Render as ``SnapshotResource``."""
        return {
            "id": self.snapshot_id,
            "restore_time": self.restore_time,
            "created_at": format_timestamp(self.created_at),
            "expires_at": format_timestamp(self.expires_at),
        }


@dataclass(frozen=True)
class BackupRecord:
    """One of Hostinger's own weekly backups of a VM."""

    backup_id: int
    size: int
    location: str
    created_at: datetime
    restore_time: int = BACKUP_RESTORE_SECONDS

    def to_json(self) -> JsonObject:
        """Render as ``BackupResource``."""
        return {
            "id": self.backup_id,
            "size": self.size,
            "restore_time": self.restore_time,
            "location": self.location,
            "created_at": format_timestamp(self.created_at),
        }


@dataclass
class ActionRecord:
    """An action on a VM; its state at any moment is read off ``timeline``."""

    action_id: int
    virtual_machine_id: int
    name: str
    created_at: datetime
    timeline: Timeline
    backup_id: int | None = None
    # Server clock minus the fake's clock when the action was made: what its timestamps
    # show, while its progress follows the fake's clock.
    server_offset: timedelta = timedelta(0)

    def step_at(self, moment: datetime) -> tuple[str, datetime]:
        """Return the state at ``moment`` and when that state was entered."""
        offset, state = self.timeline[0]
        for step_offset, step_state in self.timeline:
            if self.created_at + timedelta(seconds=step_offset) <= moment:
                offset, state = step_offset, step_state
        return state, self.created_at + timedelta(seconds=offset)

    def finished_at(self) -> datetime | None:
        """When the action reaches its final state, or ``None`` if it never does."""
        offset, state = self.timeline[-1]
        if state not in FINAL_ACTION_STATES:
            return None
        return self.created_at + timedelta(seconds=offset)

    def final_state(self) -> str | None:
        """``success`` or ``error`` when the timeline ends in one, else ``None``."""
        state = self.timeline[-1][1]
        return state if state in FINAL_ACTION_STATES else None

    def to_json(self, moment: datetime) -> JsonObject:
        """Render as ``ActionResource`` as seen at ``moment``."""
        state, since = self.step_at(moment)
        return {
            "id": self.action_id,
            "name": self.name,
            "state": state,
            "created_at": format_timestamp(self.created_at + self.server_offset),
            "updated_at": format_timestamp(since + self.server_offset),
        }


def paginate(items: Sequence[Any], page: int) -> JsonObject:
    """Slice ``items`` into ``{data, meta: {current_page, per_page, total}}`` (15 per page)."""
    start = (page - 1) * PER_PAGE
    return {
        "data": list(items[start : start + PER_PAGE]),
        "meta": {"current_page": page, "per_page": PER_PAGE, "total": len(items)},
    }
