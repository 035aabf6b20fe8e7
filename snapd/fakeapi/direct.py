"""The fake's answers without a socket: what its HTTP server would send, as data.

A caller in the same process (the simulation) hands a request's method, target and
headers to :func:`answer_directly` and gets back the status, headers and body that
:mod:`snapd.fakeapi.server` would write for it: the same dispatcher (rate limit, token,
routes, faults, request log) answers, and the same headers go with it. No thread, no
connection, no parsing of bytes.

Faults that shape the *delivery* in real time (``trickle``, ``trickle_body``,
``accept_then_timeout``) need a socket to be slow on; they raise
:class:`DeliveryNeedsSocketError` here instead of being played wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from snapd.fakeapi.server import Answerer, RequestHandler

#: A request's headers, by name.
Headers = Mapping[str, str]
#: The ``Server`` header the HTTP server sends (its ``version_string``).
SERVER = f"{RequestHandler.server_version} {RequestHandler.sys_version}"


class DeliveryNeedsSocketError(Exception):
    """A fault that slows the sending down was armed; only the HTTP server plays it."""


@dataclass(frozen=True)
class DirectAnswer:
    """What the HTTP server would have sent. ``body`` ``None``: it closed the connection
    without an answer (``accept_then_drop``); ``close``: it said ``Connection: close``."""

    status: int
    headers: dict[str, str]
    body: bytes | None
    close: bool = False


def answer_directly(
    dispatcher: Answerer, method: str, target: str, headers: Headers
) -> DirectAnswer:
    """Answer one request (``target``: path and query) as the HTTP server would;
    ``dispatcher`` is what the server hands requests to (a ``Dispatcher``, or the
    router of several accounts).

    Raises:
        DeliveryNeedsSocketError: a trickle or hold fault applies to this answer.
    """
    authorization = next(
        (value for name, value in headers.items() if name.lower() == "authorization"), None
    )
    answer = dispatcher.dispatch(method.upper(), target, authorization)
    if answer.body is None:
        return DirectAnswer(0, {}, None, close=True)
    if answer.delivery is not None:
        raise DeliveryNeedsSocketError(
            f"the {answer.delivery.kind} fault needs the fake's HTTP server"
        )
    streamed = answer.streamed_size is not None
    body = _array_of_size(answer.streamed_size or 0) if streamed else answer.body
    sent = {
        "Server": SERVER,
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    if streamed:
        sent["Connection"] = "close"
    sent.update(answer.headers)
    return DirectAnswer(answer.status, sent, b"" if method.upper() == "HEAD" else body, streamed)


def _array_of_size(size: int) -> bytes:
    """``[0,0,...,0]`` of exactly ``size`` bytes, as the server streams it."""
    if size < 2:
        return b"[]"[:size]
    inner = size - 2
    items = b"0," * (inner // 2) + (b"0" if inner % 2 else b"")
    if items.endswith(b","):
        items = items[:-1] + b" "
    return b"[" + items + b"]"
