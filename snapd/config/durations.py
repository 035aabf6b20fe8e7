"""Durations as people write them in the policy: ``30s``, ``10m``, ``6h``, ``2d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

from snapd.logs import duration_text

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# ASCII digits only: ``\d`` would also accept digits of other scripts.
_PART = re.compile(r"([0-9]+)([smhdw])")
DURATION_PATTERN = r"^([0-9]+[smhdw])+$"
# No setting means anything beyond this, and timedelta itself overflows at ~2.7 million
# years: a bound with a clear message beats an OverflowError from deep inside a job.
MAXIMUM_DURATION = timedelta(days=36500)
_MAXIMUM_TEXT = "100 years"


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` such as ``6h`` or ``1h30m``.

    Raises:
        ValueError: with a readable one-line message, for anything that is not a duration
            or is longer than ``MAXIMUM_DURATION``.
    """
    if not isinstance(text, str) or not re.fullmatch(DURATION_PATTERN, text.strip()):
        raise ValueError(f'expected a duration like 6h, got "{_shortened(text)}"')
    seconds = 0
    for number, unit in _PART.findall(text):
        # Long digit strings would make int() refuse (over 4300 digits) or be absurd anyway.
        digits = number.lstrip("0")
        if len(digits) > 15:
            seconds = MAXIMUM_DURATION.days * 86400 + 1
            break
        seconds += int(digits or "0") * _UNITS[unit]
    if seconds > MAXIMUM_DURATION.total_seconds():
        raise ValueError(
            f'expected a duration of at most {_MAXIMUM_TEXT} (36500d), got "{_shortened(text)}"'
        )
    return timedelta(seconds=seconds)


def _shortened(value: object) -> str:
    """``value`` as text, cut so that a pasted blob cannot flood an error line."""
    try:
        text = str(value)
    except ValueError:  # an int too long to print
        return "a very long number"
    return text if len(text) <= 60 else text[:57] + "..."


def format_duration(duration: timedelta) -> str:
    """Render ``duration`` in whole seconds the way it would be written in the policy
    (``1d6h``, ``0s``): snapd's one duration format (``snapd.logs.duration_text``)."""
    return duration_text(timedelta(seconds=int(duration.total_seconds())))
