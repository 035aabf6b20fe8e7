"""The ledger: restore-point history, holds and pending actions (SQLite or PostgreSQL).

The Hostinger API keeps one snapshot per VM and no history; the ledger is snapd's memory
of what it did, what it is waiting for and what an operator asked it not to touch.
Import from ``snapd.ledger``, not from its modules.
"""

from __future__ import annotations

from snapd.ledger.connection import LEDGER_FILE_NAME
from snapd.ledger.protocol import Ledger
from snapd.ledger.records import (
    AttemptRecord,
    Hold,
    LedgerError,
    LockLostError,
    NotLeaderError,
    PendingAction,
)
from snapd.ledger.schema import SCHEMA_VERSION
from snapd.ledger.store import SqliteLedger
from snapd.ledger.vocabulary import KINDS, OperationKind, Result

__all__ = [
    "KINDS",
    "LEDGER_FILE_NAME",
    "SCHEMA_VERSION",
    "AttemptRecord",
    "Hold",
    "Ledger",
    "LedgerError",
    "LockLostError",
    "NotLeaderError",
    "OperationKind",
    "PendingAction",
    "Result",
    "SqliteLedger",
]
