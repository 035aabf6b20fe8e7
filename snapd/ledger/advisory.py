"""PostgreSQL advisory lock keys of snapd, and the connection settings that bound how
long a lock outlives a dead holder.

A key is two 32-bit numbers: a namespace (four ASCII letters) and what is locked in it.
PostgreSQL frees a session-level lock when the session ends; a session whose host died
ends when the server's TCP keepalives give up on it, so every connection snapd makes
asks the server for short keepalives (``options``) and sets its own (libpq), so that a
dead peer is noticed in seconds on either side, not after the kernel's two hours.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field

LEADERSHIP_NAMESPACE = 0x736E6C64  # "snld": the fleet's leader, one per fleet
INTENT_NAMESPACE = 0x736E6977  # "sniw": intent writes (shared) vs. a new leader (exclusive)
LIVENESS_NAMESPACE = 0x736E6C76  # "snlv": a process holding per-VM leases still runs

#: Server and client TCP keepalive: idle seconds before the first probe, seconds between
#: probes, probes lost before the connection is dropped (4 + 2 * 3 = 10 s of silence).
KEEPALIVE_IDLE_SECONDS = 4
KEEPALIVE_INTERVAL_SECONDS = 2
KEEPALIVE_COUNT = 3
#: How long sent data may stay unacknowledged before the connection is dropped.
TCP_USER_TIMEOUT_MILLISECONDS = 10_000
#: The bound after which a dead replica's session, and its locks, are gone.
SESSION_END_BOUND_SECONDS = KEEPALIVE_IDLE_SECONDS + KEEPALIVE_INTERVAL_SECONDS * KEEPALIVE_COUNT
CONNECT_TIMEOUT_SECONDS = 5


def fleet_key(fleet: str) -> int:
    """The second key of the fleet's locks: 31 bits of SHA-256 of its name.

    Stable across versions and hosts; two fleets on one database need different names.
    """
    digest = hashlib.sha256(fleet.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def virtual_machine_key(virtual_machine_id: int) -> int:
    """The second key of a VM's operation lock (VM ids fit; larger ones wrap)."""
    return int(virtual_machine_id) & 0x7FFFFFFF


def describe_key(namespace: int, key: int) -> str:
    """A lock key as the operator finds it in ``pg_locks`` (``classid:objid``)."""
    return f"{namespace}:{key}"


def process_identity() -> str:
    """This process for a database's eyes: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach the shared ledger; ``password`` None leaves it to libpq."""

    dsn: str
    password: str | None = field(default=None, repr=False)  # never in a repr or log
    application_name: str = "snapd"

    def keywords(self, statement_timeout_seconds: float) -> dict[str, object]:
        """psycopg ``connect`` keywords: keepalives on both sides, timeouts, autocommit."""
        server = {
            "tcp_keepalives_idle": KEEPALIVE_IDLE_SECONDS,
            "tcp_keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
            "tcp_keepalives_count": KEEPALIVE_COUNT,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MILLISECONDS,
            "statement_timeout": int(statement_timeout_seconds * 1000),
        }
        keywords: dict[str, object] = {
            "autocommit": True,
            "application_name": self.application_name,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "keepalives": 1,
            "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
            "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
            "keepalives_count": KEEPALIVE_COUNT,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MILLISECONDS,
            "options": " ".join(f"-c {name}={value}" for name, value in server.items()),
        }
        if self.password is not None:
            keywords["password"] = self.password
        return keywords
