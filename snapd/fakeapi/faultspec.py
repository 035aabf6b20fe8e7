"""Fault specs for the command line: ``ENDPOINT:KIND[:KEY=VALUE]...`` into a ``Fault``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from snapd.fakeapi.faults import HUGE_BODY_BYTES, Fault

__all__ = ["parse_fault"]

_Value = TypeVar("_Value")


def parse_fault(spec: str) -> Fault:
    """Parse ``ENDPOINT:KIND[:KEY=VALUE]...`` into a ``Fault``; ``ValueError`` when bad.

    Keys: ``count`` (an integer or ``none``), ``probability``, ``status``, ``seconds``,
    ``states`` (comma-separated), ``no_snapshot_as``, ``size`` and ``header``
    (``NAME=VALUE``, repeatable). Examples: ``create_snapshot:accept_then_fail:count=1``,
    ``list_vms:status:status=429:header=Retry-After=86400``,
    ``get_action:action_states:states=created,started,success``,
    ``*:status:status=503:probability=0.1``.
    """
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"fault {spec!r} is not ENDPOINT:KIND[:KEY=VALUE]...")
    endpoint, kind = parts[0], parts[1]
    options: dict[str, Any] = {
        "count": 1,
        "probability": None,
        "status": 500,
        "seconds": 0.0,
        "states": None,
        "no_snapshot_as": "404",
        "size": HUGE_BODY_BYTES,
    }
    headers: list[tuple[str, str]] = []
    try:
        for part in parts[2:]:
            key, separator, value = part.partition("=")
            if not separator or not key:
                raise ValueError(f"{part!r} is not KEY=VALUE")
            if key == "header":
                headers.append(_header(value))
            elif key in _READERS:
                options[key] = _READERS[key](value)
            else:
                raise ValueError(f"unknown option {key!r}")
        return Fault(kind=kind, endpoint=endpoint, headers=tuple(headers), **options)
    except ValueError as error:
        raise ValueError(f"fault {spec!r}: {error}") from None


def _header(value: str) -> tuple[str, str]:
    name, equals, header_value = value.partition("=")
    if not equals or not name:
        raise ValueError(f"header {value!r} is not NAME=VALUE")
    return name, header_value


def _convert(key: str, value: str, kind: Callable[[str], _Value]) -> _Value:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}={value!r} is not a valid {kind.__name__}") from None


_READERS: dict[str, Callable[[str], Any]] = {
    "count": lambda value: None if value.lower() == "none" else _convert("count", value, int),
    "probability": lambda value: _convert("probability", value, float),
    "status": lambda value: _convert("status", value, int),
    "seconds": lambda value: _convert("seconds", value, float),
    "states": lambda value: tuple(state.strip() for state in value.split(",")),
    "no_snapshot_as": lambda value: value,
    "size": lambda value: _convert("size", value, int),
}
