"""Durations as people write them in the policy: ``30s``, ``10m``, ``6h``, ``2d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
DURATION_PATTERN = r"^(\d+[smhdw])+$"


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` such as ``6h`` or ``1h30m``; raise ``ValueError`` with a readable message."""
    if not isinstance(text, str) or not re.fullmatch(DURATION_PATTERN, text.strip()):
        raise ValueError(f'expected a duration like 6h, got "{text}"')
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Render ``duration`` the way it would be written in the policy (``1d6h``, ``0s``)."""
    remaining = int(duration.total_seconds())
    if remaining == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
