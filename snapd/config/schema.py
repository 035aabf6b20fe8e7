"""The JSON Schema of the policy file: the single source of truth for its shape.

``snapd config schema`` prints it for editors (YAML language servers accept it), and
``snapd.config.validate`` validates loaded files against it. Values whose meaning goes beyond
JSON Schema (a cron line, a time zone, a duration) carry a ``format`` that
``snapd.config.validate`` knows how to check.
"""

from __future__ import annotations

from typing import Any

from snapd.config.accounts import ACCOUNT_NAME_PATTERN, accounts_schema
from snapd.config.durations import DURATION_PATTERN
from snapd.config.hook_environment import ENVIRONMENT_SCHEMA
from snapd.config.notify import NOTIFY_SCHEMA


def _duration(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "duration",
        "pattern": DURATION_PATTERN,
        "description": description,
    }


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
                "description": "argv list; run directly, never through a shell",
            },
            "timeout": _duration("how long the command may run (default 5m)"),
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
        "description": "standard 5-field cron line (0 and 7 = Sunday) or @hourly/@daily/@weekly",
    },
    "timezone": {
        "type": "string",
        "format": "timezone",
        "description": "IANA time zone the schedule is read in (default UTC)",
    },
    "jitter": _duration("random delay added to each slot to spread a fleet (default 0s)"),
    "min_age": _duration(
        "never overwrite a snapshot younger than this (default: half the shortest gap)"
    ),
    "protect_manual": _duration(
        "never overwrite a snapshot snapd did not make while it is younger than this (24h)"
    ),
    "action_timeout": _duration("how long to wait for the snapshot action to finish (30m)"),
    "busy_timeout": _duration("how long to keep retrying while the VM is busy (10m)"),
    "catch_up": _duration("at start, run a missed slot at most this old (24h)"),
    "refresh_before_expiry": _duration(
        "refresh a snapshot this long before it expires if no slot comes first (24h)"
    ),
    "hold_after_restore": _duration("hold the VM this long after a restore (24h)"),
    "snapshot_lifetime": _duration("how long Hostinger keeps a snapshot (20d)"),
    "allowed_states": {
        "type": "array",
        "minItems": 1,
        "items": {"enum": list(VIRTUAL_MACHINE_STATES)},
        "description": "VM states in which a snapshot may be taken (default [running])",
    },
    "health_check": {
        "type": "object",
        "description": "HTTP check that must pass before the snapshot is overwritten",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "format": "http-url"},
            "timeout": _duration("how long the check may take (default 10s)"),
            "expect_status": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                "description": "acceptable status codes (default: any 2xx)",
            },
        },
    },
    "pre_hook": _hook("command run before the snapshot; a non-zero exit vetoes it"),
    "post_hook": _hook("command run after every attempt, with SNAPD_RESULT set"),
    "notify": NOTIFY_SCHEMA,
    "account": {
        "type": "string",
        "pattern": ACCOUNT_NAME_PATTERN,
        "description": "name of the `accounts` entry the VM belongs to (default: the only one)",
    },
}

_VM_PROPERTIES: dict[str, Any] = {
    "id": {
        "type": "integer",
        "minimum": 1,
        # The ledger stores ids as SQLite integers (64-bit signed).
        "maximum": 2**63 - 1,
        "description": "Hostinger virtual machine id",
    },
    "name": {"type": "string", "description": "a name for logs and tables"},
    **VM_SETTINGS,
}

POLICY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "snapd policy",
    "type": "object",
    "additionalProperties": False,
    # Top-level ``x-`` keys are ignored, as in compose files: a place for anchors.
    "patternProperties": {"^x-": {}},
    "required": ["vms"],
    "properties": {
        "api": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "base_url": {"type": "string", "format": "http-url"},
                "token_file": {"type": "string", "minLength": 1},
                "timeout": _duration("connect and read timeout of one request (30s)"),
                "requests_per_minute": {
                    "type": "integer",
                    "minimum": 1,
                    # Far above any real API limit, and small enough for float arithmetic.
                    "maximum": 100_000,
                },
            },
        },
        "accounts": accounts_schema(),
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": VM_SETTINGS,
        },
        "vms": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": _VM_PROPERTIES,
            },
        },
        "metrics": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "listen": {
                    "type": "string",
                    "format": "listen-address",
                    "description": "HOST:PORT of /metrics, /healthz and /readyz",
                },
            },
        },
        "state_dir": {
            "type": "string",
            "minLength": 1,
            "description": "folder of the ledger and locks; created (0700) if only it is missing",
        },
        "ledger": {
            "type": "object",
            "additionalProperties": False,
            "description": "SQLite in state_dir, or a PostgreSQL shared by replicas",
            "properties": {
                "backend": {"enum": ["sqlite", "postgresql"]},
                "dsn": {
                    "type": "string",
                    "minLength": 1,
                    "description": "postgresql://USER@HOST[:PORT][,HOST2[:PORT]]/DB, no password",
                },
                "password_file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "file holding the database password (else the systemd "
                    "credential ledger-password, else $PGPASSWORD)",
                },
                "fleet": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
                    "description": "name of the fleet; replicas of one fleet elect one leader",
                },
                "max_connections": {
                    "type": "integer",
                    "description": "database sessions one process opens at most (default 4)",
                },
                "lock_lease": _duration(
                    "how long a per-VM lock lives unless its holder renews it (30s)"
                ),
            },
        },
        "stop_timeout": _duration(
            "after SIGTERM, how long to wait for running jobs before exiting anyway (10s)"
        ),
        "log": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "format": {"enum": ["auto", "json", "console"]},
                "level": {"enum": ["debug", "info", "warning", "error"]},
            },
        },
    },
}
