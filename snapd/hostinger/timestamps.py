"""Reading the timestamps an API answer may plausibly carry.

The API documents ISO 8601 with ``Z`` (``2025-02-27T11:54:22Z``), but a field that moves
between backends or passes through a proxy can arrive as another ISO shape, an HTTP date
or a Unix time. Each of those is read as the instant it names; anything else is reported
as unreadable (``None``) rather than guessed, because the caller must then know that
the age of a snapshot is unknown.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["parse_timestamp"]

# Numbers above this are milliseconds since the epoch (1e11 s is the year 5138).
_MILLISECONDS_THRESHOLD = 1e11
# Nothing sensible is longer; a bound keeps a hostile value from costing parse time.
_MAXIMUM_LENGTH = 64
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_UTC_SUFFIXES = (" utc", " gmt", "utc", "z")


def parse_timestamp(value: object) -> datetime | None:
    """Read a timestamp as an aware UTC datetime; ``None`` when absent or unreadable.

    Accepted:

    * ISO 8601 with ``T`` or a space, with or without fractional seconds (any number of
      digits), with an offset, ``Z``, a trailing `` UTC``/`` GMT``, or none (then UTC):
      ``2025-02-27T11:54:22Z``, ``2025-02-27 11:54:22.123456789 UTC``;
    * RFC 2822 / HTTP dates: ``Thu, 27 Feb 2025 11:54:22 GMT``;
    * Unix time in seconds as an int, a float or a numeric string, or in milliseconds
      when the number is above 1e11.

    Booleans, non-finite or negative numbers and instants before the year 2000 give
    ``None``: a ``created_at`` of 0 is a placeholder, not a snapshot from 1970, and
    reading it as very old would make an overwrite look safe.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAXIMUM_LENGTH:
        return None
    if _NUMBER.fullmatch(text):
        return _from_epoch(float(text))
    return _from_iso(text) or _from_http_date(text)


def _from_epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds) or seconds < 0:
        return None
    if seconds > _MILLISECONDS_THRESHOLD:
        seconds /= 1000.0
    try:
        return _as_utc(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    lowered = text.lower()
    for suffix in _UTC_SUFFIXES:
        if lowered.endswith(suffix):
            text = text[: -len(suffix)].rstrip() + "+00:00"
            break
    text = _trim_fraction(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _as_utc(moment)


def _trim_fraction(text: str) -> str:
    """Cut fractional seconds to six digits, which is all ``fromisoformat`` accepts."""
    found = re.search(r"([.,])(\d{7,})", text)
    if found is None:
        return text
    return text[: found.start(2)] + found.group(2)[:6] + text[found.end(2) :]


def _from_http_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _as_utc(moment)


def _as_utc(moment: datetime) -> datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        converted = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return converted if converted >= _EARLIEST else None
