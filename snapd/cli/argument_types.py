"""The value checks of the command line's arguments; each raises ``ArgumentTypeError``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from snapd.config.durations import parse_duration
from snapd.pipeline.workers import DEFAULT_WORKERS, MAXIMUM_WORKERS


def timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 timestamp like 2025-01-05T03:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def instant(text: str) -> datetime:
    """An ISO 8601 moment with ``Z`` or an offset (``2026-12-31T00:00Z``,
    ``2026-12-31T02:00+02:00``), or a date alone, meaning its midnight UTC (``2026-12-31``).

    A date and time without an offset is refused: it would mean this machine's time zone,
    which a hold set over SSH on a server in another zone gets silently wrong.
    """
    expected = "expected a date like 2026-12-31 or a time like 2026-12-31T00:00Z"
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    if "T" in text.upper() or " " in text.strip():
        raise argparse.ArgumentTypeError(f"{expected}; add Z or an offset like +02:00 to {text!r}")
    return moment.replace(tzinfo=UTC)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def worker_count(text: str) -> int:
    """``--workers``: threads for pre-flight, send, verify and record."""
    if not text.isdigit() or not 1 <= int(text) <= MAXIMUM_WORKERS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAXIMUM_WORKERS}, got {text!r}"
        )
    return int(text)


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` of ``run`` and ``once``."""
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"threads that run pre-flight, create, verify and record (default: "
        f"{DEFAULT_WORKERS}); waiting for actions takes one more thread whatever the "
        "number of VMs, and the request budget, not this, sets the pace",
    )


def duration(text: str) -> timedelta:
    try:
        duration = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if duration <= timedelta(0):
        raise argparse.ArgumentTypeError(f"expected a duration longer than 0s, got {text!r}")
    return duration


def virtual_machine_reference(text: str) -> str:
    """A VM's id or its ``name`` from the policy; resolved once the policy is read."""
    if not text.strip() or (text.isdigit() and int(text) < 1):
        raise argparse.ArgumentTypeError(
            f"expected a virtual machine id or a name from the policy, got {text!r}"
        )
    return text
