"""Client for the Hostinger VPS API: snapshots, actions, virtual machines, backups.

Public names are re-exported here; import from ``snapd.hostinger``, not its modules.
"""

from __future__ import annotations

from snapd.hostinger.budget import MAXIMUM_RATE_LIMIT_PAUSE
from snapd.hostinger.client import DEFAULT_BASE_URL, HostingerClient
from snapd.hostinger.endpoints import ENDPOINTS, template_for_path
from snapd.hostinger.errors import (
    AmbiguousRequestError,
    ApiError,
    AuthenticationError,
    BusyError,
    ConnectionFailedError,
    FailureReason,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnreadableSnapshotError,
)
from snapd.hostinger.exchange import MAXIMUM_BODY_BYTES
from snapd.hostinger.models import (
    FINAL_ACTION_STATES,
    Action,
    ActionPage,
    Backup,
    Snapshot,
    VirtualMachine,
    parse_timestamp,
)
from snapd.hostinger.observer import RETRY_REASONS, ApiObserver, NullObserver, RetryReason

__all__ = [
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "FINAL_ACTION_STATES",
    "MAXIMUM_BODY_BYTES",
    "MAXIMUM_RATE_LIMIT_PAUSE",
    "RETRY_REASONS",
    "Action",
    "ActionPage",
    "AmbiguousRequestError",
    "ApiError",
    "ApiObserver",
    "AuthenticationError",
    "Backup",
    "BusyError",
    "ConnectionFailedError",
    "FailureReason",
    "HostingerClient",
    "InvalidResponseError",
    "NotFoundError",
    "NullObserver",
    "RateLimitedError",
    "RetryReason",
    "ServerError",
    "Snapshot",
    "UnreadableSnapshotError",
    "VirtualMachine",
    "parse_timestamp",
    "template_for_path",
]
