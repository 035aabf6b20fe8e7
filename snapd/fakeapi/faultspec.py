"""Fault specs for the command line: ``ENDPOINT:KIND[:KEY=VALUE]...`` into a ``Fault``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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
    count: int | None = 1
    probability: float | None = None
    status = 500
    seconds = 0.0
    states: tuple[str, ...] | None = None
    no_snapshot_as = "404"
    size = HUGE_BODY_BYTES
    headers: list[tuple[str, str]] = []
    try:
        for part in parts[2:]:
            key, separator, value = part.partition("=")
            if not separator or not key:
                raise ValueError(f"{part!r} is not KEY=VALUE")
            if key == "count":
                count = None if value.lower() == "none" else _convert(key, value, int)
            elif key == "probability":
                probability = _convert(key, value, float)
            elif key == "status":
                status = _convert(key, value, int)
            elif key == "seconds":
                seconds = _convert(key, value, float)
            elif key == "states":
                states = tuple(state.strip() for state in value.split(","))
            elif key == "no_snapshot_as":
                no_snapshot_as = value
            elif key == "size":
                size = _convert(key, value, int)
            elif key == "header":
                name, equals, header_value = value.partition("=")
                if not equals or not name:
                    raise ValueError(f"header {value!r} is not NAME=VALUE")
                headers.append((name, header_value))
            else:
                raise ValueError(f"unknown option {key!r}")
        return Fault(
            kind=kind,
            endpoint=endpoint,
            count=count,
            probability=probability,
            status=status,
            seconds=seconds,
            states=states,
            no_snapshot_as=no_snapshot_as,
            headers=tuple(headers),
            size=size,
        )
    except ValueError as error:
        raise ValueError(f"fault {spec!r}: {error}") from None


def _convert(key: str, value: str, kind: Callable[[str], _Value]) -> _Value:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}={value!r} is not a valid {kind.__name__}") from None
