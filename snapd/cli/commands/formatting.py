"""How commands print times, durations and tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from snapd.clock import utc_text
from snapd.logs import duration_text


def iso_utc(moment: datetime | None) -> str:
    """``2025-01-05T03:00:00Z``; ``-`` for an unknown time."""
    if moment is None:
        return "-"
    return utc_text(moment, whole_seconds=True)


def age(moment: datetime | None, now: datetime) -> str:
    """``6h30m ago`` / ``in 1d2h``: the two largest units, written as durations are
    everywhere; for tables read by people."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    magnitude = int(abs(seconds))
    for size, finer in ((86400, 3600), (3600, 60), (60, 1)):
        if magnitude >= size:
            magnitude -= magnitude % finer
            break
    text = duration_text(timedelta(seconds=magnitude))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain left-aligned table with a header row."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)
