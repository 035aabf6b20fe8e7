"""How commands print times, durations and tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from snapd.clock import utc_text


def iso_utc(moment: datetime | None) -> str:
    """``2025-01-05T03:00:00Z``; ``-`` for an unknown time."""
    if moment is None:
        return "-"
    return utc_text(moment, whole_seconds=True)


def age(moment: datetime | None, now: datetime) -> str:
    """``3h ago`` / ``in 2d`` style, for tables read by people."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    magnitude = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if magnitude >= size:
            text = f"{magnitude / size:.0f}{unit}" if unit != "d" else f"{magnitude / size:.1f}d"
            break
    else:
        text = f"{magnitude:.0f}s"
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
