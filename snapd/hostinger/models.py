"""Frozen records for the parts of the Hostinger VPS API that snapd uses.

Parsing is tolerant on purpose: unknown fields are ignored, enum-like fields (``state``,
``actions_lock``) are kept as plain strings so that a value Hostinger adds tomorrow (the
live API already answers ``started`` for actions) does not break the daemon, and a
timestamp is read in every format a server plausibly sends (see
:func:`~snapd.hostinger.timestamps.parse_timestamp`); one that still cannot be read
becomes ``None``, and a snapshot says so (``created_at_unreadable``), so that "no
snapshot" and "a snapshot of unknown age" never look alike. Only an object without a
usable integer ``id`` is rejected, with :class:`ShapeError`; the client turns that into
``InvalidResponseError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from snapd.hostinger.fields import (
    ShapeError,
    enum_text,
    json_object,
    optional_int,
    optional_str,
    required_id,
)
from snapd.hostinger.timestamps import parse_timestamp

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
        fields = json_object(data, "virtual machine")
        return cls(
            id=required_id(fields, "virtual machine"),
            state=enum_text(fields.get("state")),
            actions_lock=enum_text(fields.get("actions_lock")),
            hostname=optional_str(fields.get("hostname")),
            plan=optional_str(fields.get("plan")),
        )


#: Longest raw text kept from an unreadable field (for logs; bounded like any label).
_RAW_TEXT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The single snapshot Hostinger keeps for a VM. ``restore_time`` is in seconds.

    ``created_at`` is ``None`` when the answer had no readable creation time; then
    ``created_at_unreadable`` is True: the snapshot exists but its age is unknown, which
    the caller must not treat like "no snapshot" (nor like an old one).
    ``created_at_raw`` keeps the value as sent (as text, at most 100 characters) when it
    was present but unreadable, ``None`` otherwise.
    """

    id: int
    created_at: datetime | None
    expires_at: datetime | None
    restore_time: int | None
    created_at_unreadable: bool = False
    created_at_raw: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Snapshot | None:
        """Build from decoded JSON, or return ``None`` when it describes no snapshot.

        Only the empty shapes mean "no snapshot" (the API does not document which one
        it sends): ``null``, ``{}``, an object whose fields are all null, and an object
        whose ``id`` is null (whatever the other fields hold). An object with an id but a
        missing or unreadable ``created_at`` is a snapshot with ``created_at=None`` and
        ``created_at_unreadable=True``.
        Raises :class:`ShapeError` for anything else: a value that is neither an object
        nor null, an id that is present but not an integer, and an object without an
        ``id`` that says something (an error body such as ``{"message": ...}`` answered
        with 200 is not "no snapshot": taking it for one would skip every age guard).
        """
        if data is None:
            return None
        fields = json_object(data, "snapshot")
        if "id" in fields and fields["id"] is None:
            return None
        if all(value is None for value in fields.values()):
            return None
        raw_created_at = fields.get("created_at")
        created_at = parse_timestamp(raw_created_at)
        unreadable_text = None
        if created_at is None and raw_created_at is not None:
            unreadable_text = str(raw_created_at)[:_RAW_TEXT_LIMIT]
        return cls(
            id=required_id(fields, "snapshot"),
            created_at=created_at,
            expires_at=parse_timestamp(fields.get("expires_at")),
            restore_time=optional_int(fields.get("restore_time")),
            created_at_unreadable=created_at is None,
            created_at_raw=unreadable_text,
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
        fields = json_object(data, "action")
        return cls(
            id=required_id(fields, "action"),
            name=optional_str(fields.get("name")) or "",
            state=enum_text(fields.get("state")),
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
        fields = json_object(data, "backup")
        return cls(
            id=required_id(fields, "backup"),
            size=optional_int(fields.get("size")),
            restore_time=optional_int(fields.get("restore_time")),
            location=optional_str(fields.get("location")),
            created_at=parse_timestamp(fields.get("created_at")),
        )
