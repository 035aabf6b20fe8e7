"""Reading the API's answer bodies: unwrapping envelopes, pages and records.

The helpers here turn a decoded JSON body into what :class:`HostingerClient` returns, or
into the client's own error: an answer of the wrong shape is an
:class:`InvalidResponseError` naming the endpoint, never a ``KeyError`` or a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from snapd.hostinger.endpoints import ENDPOINTS
from snapd.hostinger.errors import ApiError, InvalidResponseError, UnreadableSnapshotError
from snapd.hostinger.models import ShapeError

_Record = TypeVar("_Record")


def resource(body: Any) -> Any:
    """Unwrap ``{"data": {...}}`` when a server wraps a single resource."""
    if isinstance(body, dict) and "id" not in body and "data" in body:
        return body["data"] if isinstance(body["data"], dict | None) else body
    return body


def items(body: Any, name: str) -> list[Any]:
    """The list in a bare array answer or in a ``{"data": [...]}`` page."""
    if isinstance(body, dict):
        body = body.get("data")
    if not isinstance(body, list):
        raise invalid(name, f"expected a JSON array of items, got {type(body).__name__}")
    return body


def page_meta(body: Any, requested_page: int, item_count: int) -> tuple[int, int, int]:
    """(current_page, per_page, total) from ``meta``; a single full page when absent."""
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return requested_page, max(item_count, 1), (requested_page - 1) * item_count + item_count

    def number(key: str, default: int) -> int:
        value = meta.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    per_page = max(number("per_page", item_count), 1)
    return number("current_page", requested_page), per_page, number("total", item_count)


def parse(build: Callable[[Any], _Record], data: Any, name: str) -> _Record:
    """``build(data)``, or an :class:`InvalidResponseError` if the record is unreadable."""
    try:
        return build(data)
    except Exception as problem:
        # Whatever a record's parsing trips over, the caller gets the client's own error.
        raise invalid(name, describe(problem)) from None


def describe(problem: Exception) -> str:
    """The text of our own shape errors; only the class of anything else (its text might
    quote the answer at length)."""
    if isinstance(problem, ShapeError):
        return str(problem)
    return f"unreadable record ({type(problem).__name__})"


def invalid(name: str, detail: str) -> InvalidResponseError:
    """The error for an answer of ``name`` (a GET) whose body has the wrong shape."""
    return InvalidResponseError(detail, endpoint=ENDPOINTS[name], method="GET", status=200)


def unreadable_snapshot(why: str, status: int | None, correlation: str | None) -> ApiError:
    """The error for a snapshot answer that cannot be read: the state is unknown."""
    template = ENDPOINTS["get_snapshot"]
    message = f"the snapshot answer is not a snapshot: {why}"
    return UnreadableSnapshotError(
        message, endpoint=template, status=status, correlation_id=correlation
    )
