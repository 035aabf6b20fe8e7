"""Reading single JSON fields the tolerant way the records need.

A number may come as ``5``, ``5.0`` or ``"5"``; a missing enum-like field becomes
:data:`UNKNOWN`; text is taken as it is. Only what a record cannot exist without (a JSON
object, an integer ``id``) raises :class:`ShapeError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Stand-in for a missing enum-like field, so that such a record is never mistaken for a
#: known state (``unknown`` is not ``running``, not ``success``).
UNKNOWN = "unknown"


class ShapeError(ValueError):
    """A JSON value does not have the shape a record needs."""


def optional_int(value: object) -> int | None:
    """An integer however the server wrote it (``5``, ``5.0``, ``"5"``), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only ("²" is a digit to str.isdigit) and a sane length, so that
        # int() can neither fail nor be made to work on a megabyte of digits.
        if text.isascii() and text.isdigit() and len(text) <= 30:
            return int(text)
    return None


def required_id(data: Mapping[str, Any], record: str) -> int:
    """The record's integer ``id``; :class:`ShapeError` without one."""
    identifier = optional_int(data.get("id"))
    if identifier is None:
        raise ShapeError(f"{record} without an integer id")
    return identifier


def optional_str(value: object) -> str | None:
    """A text, ``None`` when absent; any other value as its text."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def enum_text(value: object) -> str:
    """An enum-like field kept as its text; :data:`UNKNOWN` when missing or empty."""
    return value if isinstance(value, str) and value else UNKNOWN


def json_object(data: object, record: str) -> Mapping[str, Any]:
    """``data`` as a JSON object; :class:`ShapeError` for anything else."""
    if not isinstance(data, Mapping):
        raise ShapeError(f"{record} is not a JSON object but {type(data).__name__}")
    return data
