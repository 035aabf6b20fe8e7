"""Check a loaded policy document against ``snapd.config.schema.POLICY_SCHEMA``.

Only the part of JSON Schema the policy schema uses is implemented (type, properties,
additionalProperties false, required, enum, minimum, maximum, minItems, minLength, items,
pattern, format), so the runtime needs no validator library. Every problem is reported,
not just the first, as a ``(path, message)`` pair; the path is a tuple of keys and list
indexes that the caller maps to a line of the YAML file.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from snapd.config.cron import ScheduleError, load_timezone, parse_cron
from snapd.config.durations import parse_duration
from snapd.config.masking import mask_url

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _is_type(value: Any, type_name: str) -> bool:
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    raise ValueError(f"schema uses unsupported type {type_name}")


def _check_duration(value: str) -> str | None:
    try:
        parse_duration(value)
    except ValueError as error:
        return str(error)
    return None


def _check_cron(value: str) -> str | None:
    try:
        parse_cron(value)
    except ScheduleError as error:
        return f"bad cron line {_shortened(value)!r}: {error}"
    return None


def _check_timezone(value: str) -> str | None:
    try:
        load_timezone(value)
    except ScheduleError as error:
        return str(error)
    return None


def _check_http_url(value: str) -> str | None:
    # The URL may hold a password or an API key: an error message shows it masked.
    expected = f"expected an http(s) URL, got {_shortened(mask_url(value))!r}"
    if any(character.isspace() or not character.isprintable() for character in value):
        return f"{expected}: spaces and control characters must be percent-encoded"
    try:
        # urlsplit raises for a broken IPv6 literal ("http://[fd00::1/x"), .port for a
        # port that is not a number from 0 to 65535.
        parts = urlsplit(value)
        parts.port  # noqa: B018
    except ValueError as error:
        return f"{expected}: {error}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    return None


_PORT = re.compile(r"[0-9]{1,5}")


def _check_listen_address(value: str) -> str | None:
    host, separator, port = value.rpartition(":")
    host = host.strip("[]")
    if not separator or not _PORT.fullmatch(port) or not 0 <= int(port) <= 65535:
        return f"expected HOST:PORT like 127.0.0.1:9891, got {_shortened(value)!r}"
    if host not in ("", "localhost"):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"expected an IP address or localhost before the port, got {_shortened(host)!r}"
    return None


FORMATS: dict[str, Callable[[str], str | None]] = {
    "duration": _check_duration,
    "cron": _check_cron,
    "timezone": _check_timezone,
    "http-url": _check_http_url,
    "listen-address": _check_listen_address,
}


def _shortened(value: Any) -> str:
    """``str(value)`` cut to a length that keeps an error on one readable line."""
    try:
        text = str(value)
    except ValueError:  # an int beyond the interpreter's digit limit
        return "a number with thousands of digits"
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{_shortened(value)}"'
    if isinstance(value, int) and not isinstance(value, bool):
        return _shortened(value)
    return _shortened(repr(value))


def _suggestion(value: Any, schema: dict[str, Any]) -> str:
    """`` (did you mean 'running'?)`` for a string close to one of the allowed words."""
    if not isinstance(value, str):
        return ""
    words = [str(item) for item in schema["enum"]]
    close = difflib.get_close_matches(_shortened(value), words, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validate(value: Any, schema: dict[str, Any], path: Path = ()) -> Iterator[Problem]:
    """Yield every ``(path, message)`` where ``value`` breaks ``schema``."""
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(str(item) for item in schema["enum"])
        yield path, f"expected one of {allowed}, got {_describe(value)}{_suggestion(value, schema)}"
        return
    type_name = schema.get("type")
    if type_name and not _is_type(value, type_name):
        # writeOnly marks a part that holds secrets (notification URLs): never quote it.
        shown = "a value not shown here (it may hold a secret)"
        got = shown if schema.get("writeOnly") else _describe(value)
        if schema.get("format") == "duration":
            yield path, f"expected a duration like 6h, got {got}"
        else:
            yield path, f"expected {_TYPE_NAMES[type_name]}, got {got}"
        return
    if isinstance(value, dict):
        yield from _validate_mapping(value, schema, path)
    elif isinstance(value, list):
        yield from _validate_list(value, schema, path)
    elif isinstance(value, str):
        yield from _validate_string(value, schema, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield from _validate_number(value, schema, path)


def _validate_list(value: list[Any], schema: dict[str, Any], path: Path) -> Iterator[Problem]:
    if len(value) < schema.get("minItems", 0):
        yield path, f"needs at least {schema['minItems']} item(s)"
    item_schema = schema.get("items")
    if item_schema is not None:
        for index, item in enumerate(value):
            yield from validate(item, item_schema, (*path, index))


def _validate_number(value: float, schema: dict[str, Any], path: Path) -> Iterator[Problem]:
    if "minimum" in schema and value < schema["minimum"]:
        yield path, f"must be at least {schema['minimum']}, got {_describe(value)}"
    if "maximum" in schema and value > schema["maximum"]:
        yield path, f"must be at most {schema['maximum']}, got {_describe(value)}"


def _validate_string(value: str, schema: dict[str, Any], path: Path) -> Iterator[Problem]:
    if len(value) < schema.get("minLength", 0):
        yield path, "must not be empty"
        return
    format_name = schema.get("format")
    if format_name is not None:
        try:
            message = FORMATS[format_name](value)
        except (ValueError, OverflowError, OSError) as error:
            # Each check handles the errors it knows; this keeps an unforeseen one a
            # problem on the value's line instead of a traceback.
            message = f"cannot be read as a {format_name}: {_shortened(error)}"
        if message is not None:
            yield path, message
            return
    pattern = schema.get("pattern")
    if pattern is not None and not re.search(pattern, value):
        yield path, f"{_describe(value)} does not match {pattern}"


def _validate_mapping(
    value: dict[Any, Any], schema: dict[str, Any], path: Path
) -> Iterator[Problem]:
    properties: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            yield path, f"missing required key '{key}'"
    for key, item in value.items():
        if key in properties:
            yield from validate(item, properties[key], (*path, key))
        elif schema.get("additionalProperties") is False:
            close = difflib.get_close_matches(_shortened(key), list(properties), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = ", ".join(properties)
            yield (*path, key), f"unknown key{hint}; known keys: {known}"
