"""The JSON Schema of the policy file: the single source of truth for its shape.

``snapd config schema`` prints it for editors (YAML language servers accept it), and
``snapd.config.validate`` validates loaded files against it. Values whose meaning goes beyond
JSON Schema (a cron line, a time zone, a duration) carry a ``format`` that
``snapd.config.validate`` knows how to check.

Every key says what it means (``description``, in sentences) and, where it has one, its
``default``: the README's key tables and the comments of ``config.example.yaml`` are
generated from them (``snapd.config.key_docs``), and a key without a description fails
the tests, named.
"""

from __future__ import annotations

from typing import Any

from snapd.config.accounts import accounts_schema
from snapd.config.vm_schema import VIRTUAL_MACHINE_STATES, VM_SETTINGS, duration_schema

__all__ = ["POLICY_SCHEMA", "VIRTUAL_MACHINE_STATES", "VM_SETTINGS"]


_VM_PROPERTIES: dict[str, Any] = {
    "id": {
        "type": "integer",
        "minimum": 1,
        # The ledger stores ids as SQLite integers (64-bit signed).
        "maximum": 2**63 - 1,
        "description": "The Hostinger virtual machine id.",
    },
    "name": {
        "type": "string",
        "description": "A name for logs, tables and commands (snapd once web-1); unique.",
    },
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
            "description": "How snapd reaches the Hostinger API.",
            "additionalProperties": False,
            "properties": {
                "base_url": {
                    "type": "string",
                    "format": "http-url",
                    "default": "https://developers.hostinger.com",
                    "description": "Where the Hostinger API lives. Plain http:// is accepted "
                    "only for loopback addresses (the embedded fake API); anything else must "
                    "be https with a verified certificate.",
                },
                "token_file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A file holding the API token (a relative path is read "
                    "beside the policy file). The token is found in this order: "
                    "$CREDENTIALS_DIRECTORY/hostinger-api-token (systemd LoadCredential=), "
                    "this file, /run/secrets/hostinger_api_token, $HOSTINGER_API_TOKEN. "
                    "Never logged.",
                },
                "timeout": duration_schema(
                    "The total time one attempt of a request may take, from sending it to "
                    "the last byte of the answer, however slowly the API answers.",
                    "30s",
                ),
                "requests_per_minute": {
                    "type": "integer",
                    "minimum": 1,
                    # Far above any real API limit, and small enough for float arithmetic.
                    "maximum": 100_000,
                    "default": 60,
                    "description": "The request budget every job shares; a 429 pauses it for "
                    "Retry-After and halves the pace, which then recovers by a tenth of this "
                    "per minute, never above it.",
                },
            },
        },
        "accounts": accounts_schema(),
        "defaults": {
            "type": "object",
            "description": "Settings every VM inherits; each can be overridden on the VM.",
            "additionalProperties": False,
            "properties": VM_SETTINGS,
        },
        "vms": {
            "type": "array",
            "description": "The VMs to keep protected, each with its id and any key of defaults.",
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
            "description": "The daemon's HTTP listener.",
            "additionalProperties": False,
            "properties": {
                "listen": {
                    "type": "string",
                    "format": "listen-address",
                    "default": "127.0.0.1:9891",
                    "description": "HOST:PORT serving /metrics, /healthz, /readyz and /status "
                    "(loopback only by default; 0.0.0.0:9891 in a container). snapd run "
                    "--metrics-listen overrides it.",
                },
            },
        },
        "state_dir": {
            "type": "string",
            "minLength": 1,
            "default": "/var/lib/hostinger-snapd",
            "description": "The folder of the ledger and the per-VM locks (not /var/lib/snapd, "
            "which is Ubuntu's snap daemon's); a relative path is read beside the policy file. "
            "When it is missing but its parent exists, snapd creates it (mode 0700) and config "
            "validate says so; a missing parent is an error. --state-dir overrides it.",
        },
        "ledger": {
            "type": "object",
            "additionalProperties": False,
            "description": "Where the ledger lives: a SQLite file in state_dir (nothing to set "
            "up), or a PostgreSQL database shared by replicas, of which exactly one acts.",
            "properties": {
                "backend": {
                    "enum": ["sqlite", "postgresql"],
                    "default": "sqlite",
                    "description": "sqlite or postgresql (which needs pip install "
                    "'hostinger-snapd[postgresql]').",
                },
                "dsn": {
                    "type": "string",
                    "minLength": 1,
                    "description": "postgresql only, required: "
                    "postgresql://USER@HOST[:PORT][,HOST2[:PORT]]/DATABASE, never with a "
                    "password; libpq parameters may follow (?sslmode=verify-full).",
                },
                "password_file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "postgresql only: the file holding the database password, "
                    "relative to the policy file. Without it: "
                    "$CREDENTIALS_DIRECTORY/ledger-password, then $PGPASSWORD, then libpq's "
                    "own (~/.pgpass).",
                },
                "fleet": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
                    "default": "default",
                    "description": "postgresql only: the fleet's name; its replicas elect one "
                    "leader. Fleets sharing one database need different names (and VMs).",
                },
                "max_connections": {
                    "type": "integer",
                    "default": 4,
                    "description": "postgresql only: the most database sessions one snapd "
                    "process opens, however many VMs are in flight. At least 4.",
                },
                "lock_lease": duration_schema(
                    "postgresql only: how long a per-VM lock lives unless its holder renews "
                    "it (every third of it); a lock whose holder's process is gone is free at "
                    "once. At least 1s.",
                    "30s",
                ),
            },
        },
        "stop_timeout": duration_schema(
            "After SIGTERM, how long snapd run waits for the running jobs before exiting "
            "anyway (an action still pending is resumed from the ledger at the next start). "
            "More than 0s, at most 10m.",
            "10s",
        ),
        "log": {
            "type": "object",
            "description": "How snapd logs, to standard error.",
            "additionalProperties": False,
            "properties": {
                "format": {
                    "enum": ["auto", "json", "console"],
                    "default": "auto",
                    "description": "auto: readable console lines on a terminal, JSON lines "
                    "otherwise; or json, or console.",
                },
                "level": {
                    "enum": ["debug", "info", "warning", "error"],
                    "default": "info",
                    "description": "debug, info, warning or error.",
                },
            },
        },
    },
}
