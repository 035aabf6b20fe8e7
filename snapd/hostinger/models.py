"""Frozen records for the parts of the Hostinger VPS API that snapd uses.

Parsing is tolerant on purpose: unknown fields are ignored, enum-like fields (``state``,
``actions_lock``) are kept as plain strings so that a value Hostinger adds tomorrow (the
live API already answers ``started`` for actions) does not break the daemon, and a
timestamp that cannot be read becomes ``None``. Only an object without a usable integer
``id`` is rejected, with :class:`ShapeError`; the client turns that into
``InvalidResponseError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FINAL_ACTION_STATES",
    "Action",
    "ActionPage",
    "Backup",
    "ShapeError",
    "Snapshot",
    "VirtualMachine",
    "parse_timestamp",
]

#: Only these action states end an action; every other value means "still running".
FINAL_ACTION_STATES = frozenset({"success", "error"})

#: Stand-in for a missing enum-like field, so that such a record is never mistaken for a
#: known state (``unknown`` is not ``running``, not ``success``).
UNKNOWN = "unknown"


class ShapeError(ValueError):
    """A JSON value does not have the shape a record needs."""


def parse_timestamp(value: object) -> datetime | None:
    """Read an ISO 8601 timestamp as an aware UTC datetime.

    Accepts ``2025-02-27T11:54:22Z``, any number of fractional digits
    (``2024-09-05T07:25:36.00000Z``) and explicit offsets. A timestamp without an offset
    is taken as UTC. Anything unreadable, including ``None``, gives ``None``.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _required_id(data: Mapping[str, Any], record: str) -> int:
    identifier = _optional_int(data.get("id"))
    if identifier is None:
        raise ShapeError(f"{record} without an integer id")
    return identifier


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _state(value: object) -> str:
    return value if isinstance(value, str) and value else UNKNOWN


def _object(data: object, record: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ShapeError(f"{record} is not a JSON object but {type(data).__name__}")
    return data


@dataclass(frozen=True, slots=True)
class VirtualMachine:
    """A VPS as reported by ``GET /api/vps/v1/virtual-machines[/{id}]``.

    ``state`` is one of the 16 documented values (``running``, ``stopped``, ...) or any
    newer one, or ``unknown`` when missing. ``actions_lock`` is ``unlocked``/``locked``.
    """

    id: int
    state: str
    actions_lock: str
    hostname: str | None
    plan: str | None

    @property
    def is_locked(self) -> bool:
        """True when Hostinger reports another action holding the VM.

        Only the documented ``locked`` counts: an unfamiliar value is treated as unlocked,
        because the API itself refuses a create on a busy VM (a ``BusyError`` the caller
        handles), whereas wrongly reading "locked" would block snapshots indefinitely.
        """
        return self.actions_lock == "locked"

    @classmethod
    def from_json(cls, data: object) -> VirtualMachine:
        """Build from one decoded JSON object. Raises :class:`ShapeError`."""
        fields = _object(data, "virtual machine")
        return cls(
            id=_required_id(fields, "virtual machine"),
            state=_state(fields.get("state")),
            actions_lock=_state(fields.get("actions_lock")),
            hostname=_optional_str(fields.get("hostname")),
            plan=_optional_str(fields.get("plan")),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The single snapshot Hostinger keeps for a VM. ``restore_time`` is in seconds."""

    id: int
    created_at: datetime | None
    expires_at: datetime | None
    restore_time: int | None

    @classmethod
    def from_json(cls, data: object) -> Snapshot | None:
        """Build from decoded JSON, or return ``None`` when it describes no snapshot.

        ``null``, ``{}`` and an object whose ``id`` is null (whatever the other fields
        hold) all mean "no snapshot": the API does not document which one it sends.
        Raises :class:`ShapeError` for a value that is neither an object nor null, or an
        id that is present but not an integer.
        """
        if data is None:
            return None
        fields = _object(data, "snapshot")
        if fields.get("id") is None:
            return None
        return cls(
            id=_required_id(fields, "snapshot"),
            created_at=parse_timestamp(fields.get("created_at")),
            expires_at=parse_timestamp(fields.get("expires_at")),
            restore_time=_optional_int(fields.get("restore_time")),
        )


@dataclass(frozen=True, slots=True)
class Action:
    """An asynchronous operation on a VM (create snapshot, restore, ...).

    ``state`` is kept as the API sends it. Documented: ``created``, ``sent``, ``delayed``,
    ``success``, ``error``; the live API also answers ``started``.
    """

    id: int
    name: str
    state: str
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def is_final(self) -> bool:
        """True only for ``success`` and ``error``; any other state is still running."""
        return self.state in FINAL_ACTION_STATES

    @property
    def succeeded(self) -> bool:
        """True when the action finished with ``success``."""
        return self.state == "success"

    @classmethod
    def from_json(cls, data: object) -> Action:
        """Build from one decoded JSON object. Raises :class:`ShapeError`."""
        fields = _object(data, "action")
        return cls(
            id=_required_id(fields, "action"),
            name=_optional_str(fields.get("name")) or "",
            state=_state(fields.get("state")),
            created_at=parse_timestamp(fields.get("created_at")),
            updated_at=parse_timestamp(fields.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class ActionPage:
    """One page of ``GET .../actions``; pages are numbered from 1."""

    actions: tuple[Action, ...]
    current_page: int
    per_page: int
    total: int

    @property
    def has_more(self) -> bool:
        """True when pages after this one hold more actions."""
        return self.current_page * self.per_page < self.total


@dataclass(frozen=True, slots=True)
class Backup:
    """One of Hostinger's own weekly backups. ``size`` is in kilobytes."""

    id: int
    size: int | None
    restore_time: int | None
    location: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: object) -> Backup:
        """Build from one decoded JSON object. Raises :class:`ShapeError`."""
        fields = _object(data, "backup")
        return cls(
            id=_required_id(fields, "backup"),
            size=_optional_int(fields.get("size")),
            restore_time=_optional_int(fields.get("restore_time")),
            location=_optional_str(fields.get("location")),
            created_at=parse_timestamp(fields.get("created_at")),
        )
