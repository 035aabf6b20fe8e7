"""The part of the policy's schema that a VM's keys share: under ``defaults`` or on a VM.

``snapd.config.schema`` puts them together with the rest; every key says what it means
(``description``) and, where it has one, its ``default``: the README's key table and the
comments of ``config.example.yaml`` are generated from them (``snapd.config.key_docs``).
"""

from __future__ import annotations

from typing import Any

from snapd.config.accounts import ACCOUNT_NAME_PATTERN
from snapd.config.durations import DURATION_PATTERN
from snapd.config.hook_environment import ENVIRONMENT_SCHEMA
from snapd.config.notify import NOTIFY_SCHEMA


def duration_schema(description: str, default: str | None = None) -> dict[str, Any]:
    """A duration key (``30s``, ``6h``) with its meaning and, when it has one, default."""
    node: dict[str, Any] = {
        "type": "string",
        "format": "duration",
        "pattern": DURATION_PATTERN,
        "description": description,
    }
    if default is not None:
        node["default"] = default
    return node


def _hook(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["command"],
        "properties": {
            "command": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
                "description": "The command as an argv list, run directly, never through a shell.",
            },
            "timeout": duration_schema(
                "At this point the hook and every child it started are killed.", "5m"
            ),
            "env": ENVIRONMENT_SCHEMA,
        },
    }


# The ``state`` enum of the VM in the API's OpenAPI description: a state outside it in
# ``allowed_states`` is a typo that would skip the VM forever.
VIRTUAL_MACHINE_STATES = (
    "running",
    "starting",
    "stopping",
    "stopped",
    "creating",
    "initial",
    "error",
    "suspending",
    "unsuspending",
    "suspended",
    "destroying",
    "destroyed",
    "recreating",
    "restoring",
    "recovery",
    "stopping_recovery",
)

VM_SETTINGS: dict[str, Any] = {
    "schedule": {
        "type": "string",
        "format": "cron",
        "description": "Standard 5-field cron: minute hour day-of-month month day-of-week. "
        "Day-of-week 0 and 7 are Sunday; names (mon, jan), ranges, steps and lists work, and "
        "so do @hourly, @daily, @weekly, @monthly. Required here or on every VM.",
    },
    "timezone": {
        "type": "string",
        "format": "timezone",
        "default": "UTC",
        "description": "IANA time zone the schedule is read in; every slot runs once across "
        "DST changes. A slot in a skipped hour (clocks go forward) runs at the instant its "
        "wall time had with the offset before the jump, one hour later on the new clock and "
        "24 h after the day before's slot: `30 3 * * *` in `Europe/Vilnius` runs at 04:30 "
        "EEST (01:30 UTC) on 2026-03-29. A "
        "slot in a repeated hour (clocks go back) runs at its first occurrence. snapd plan "
        "shows the times.",
    },
    "jitter": duration_schema(
        "A random delay of up to this much added to every slot, to spread a fleet over the "
        "request budget; it only ever delays. 0s turns it off.",
        "0s",
    ),
    "min_age": duration_schema(
        "Storm guard: never overwrite a snapshot younger than this. Default: half the "
        "shortest gap between two slots of the VM's schedule (12h for a daily one), so that "
        "the guard never blocks the schedule itself. 0s turns it off."
    ),
    "protect_manual": duration_schema(
        "Never overwrite a snapshot snapd did not make (someone took it by hand before an "
        "upgrade) while it is younger than this. 0s turns it off.",
        "24h",
    ),
    "action_timeout": duration_schema("How long to wait for the snapshot action to finish.", "30m"),
    "busy_timeout": duration_schema(
        "While the VM is busy (actions_lock locked, or the API answers 409/422), retry with "
        "backoff for this long, then give up on the slot.",
        "10m",
    ),
    "catch_up": duration_schema(
        "At start, a VM whose most recent slot within this window has no success (and whose "
        "snapshot is older than that slot) runs once, not once per missed slot.",
        "24h",
    ),
    "refresh_before_expiry": duration_schema(
        "If the snapshot would expire before the next slot, refresh it this long before it "
        "expires.",
        "24h",
    ),
    "hold_after_restore": duration_schema(
        "After snapd restore, hold the VM this long, so that the next slot does not "
        "overwrite the restored state before anyone looked at it. 0s turns it off.",
        "24h",
    ),
    "snapshot_lifetime": duration_schema(
        "How long Hostinger keeps a snapshot; a schedule whose longest gap exceeds it is rejected.",
        "20d",
    ),
    "allowed_states": {
        "type": "array",
        "minItems": 1,
        "items": {"enum": list(VIRTUAL_MACHINE_STATES)},
        "default": ["running"],
        "description": "VM states in which a snapshot may be taken, from the API's 16 VM "
        "states (running, stopped, suspended, recovery, ...); a typo is an error with a "
        "suggestion.",
    },
    "health_check": {
        "type": "object",
        "description": "An HTTP check that must pass before the snapshot is overwritten: an "
        "unhealthy machine never replaces the last good restore point. A VM without one (no "
        "snapshot, or only an expired one) gets its snapshot anyway, recorded as "
        "created_unhealthy.",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "format": "http-url",
                "description": "The URL to GET; it must answer with an accepted status. "
                "Masked in logs and config show.",
            },
            "timeout": duration_schema(
                "The whole check, connection to last header, however slowly the server answers.",
                "10s",
            ),
            "expect_status": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                "default": "any 2xx",
                "description": "The status codes that pass.",
            },
        },
    },
    "pre_hook": _hook(
        "A command run before the snapshot; a non-zero exit vetoes it. SNAPD_VM_ID and "
        "SNAPD_SLOT are in its environment."
    ),
    "post_hook": _hook(
        "A command run after every attempt, with SNAPD_RESULT set to success, failed, "
        "unverified, timeout, ambiguous, skipped or interrupted."
    ),
    "notify": NOTIFY_SCHEMA,
    "account": {
        "type": "string",
        "pattern": ACCOUNT_NAME_PATTERN,
        "default": "the only account",
        "description": "The name of the accounts entry the VM belongs to; required when "
        "the policy lists several accounts.",
    },
}
