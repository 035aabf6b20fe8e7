"""The ledger's closed vocabularies: what an attempt did and how it ended.

They live here, below the pipeline, because the ledger stores them; the pipeline
imports them from ``snapd.ledger``.
"""

from __future__ import annotations

from enum import StrEnum


class OperationKind(StrEnum):
    """What an attempt does to a VM's snapshot; also what a per-VM lock is held for."""

    SNAPSHOT = "snapshot"
    RESTORE = "restore"
    DELETE = "delete"
    # Only ever read, never written or locked for: a stored kind this snapd does not know.
    UNKNOWN = "unknown"


class Result(StrEnum):
    """Final results; the first five are the ``result`` label of the attempts metric."""

    SUCCESS = "success"
    FAILED = "failed"
    UNVERIFIED = "unverified"
    TIMEOUT = "timeout"
    AMBIGUOUS = "ambiguous"  # a request may have been executed and nothing showed whether
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    INTERRUPTED = "interrupted"  # the process is stopping; the action stays pending
    # Only ever read, never written: a stored outcome this snapd does not know (a row
    # edited by hand, say). Readers see it instead of failing on the whole history.
    UNKNOWN = "unknown"


# What an attempt row may be written with.
KINDS = frozenset(OperationKind) - {OperationKind.UNKNOWN}
WRITABLE_RESULTS = frozenset(Result) - {Result.UNKNOWN}


def read_kind(text: str) -> OperationKind:
    """The stored kind ``text`` as an :class:`OperationKind`; :attr:`OperationKind.UNKNOWN`
    when this snapd does not know it (never raises)."""
    try:
        return OperationKind(text)
    except ValueError:
        return OperationKind.UNKNOWN


def read_result(text: str) -> Result:
    """The stored outcome ``text`` as a :class:`Result`; :attr:`Result.UNKNOWN` when this
    snapd does not know it (never raises)."""
    try:
        return Result(text)
    except ValueError:
        return Result.UNKNOWN
