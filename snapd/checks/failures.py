"""What went wrong with an HTTP request, in a few words and without its URL.

``requests`` puts the whole URL (a secret for notifications and health checks) into its
exceptions' text, so the words come from the types in the chain of wrapped exceptions,
never from their text.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

__all__ = ["causes", "connection_problem"]


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: requests and urllib3 keep causes in ``reason``,
    in ``args`` or as the exception being handled when they were raised."""
    pending = [error]
    seen: set[int] = set()
    while pending and len(seen) < 20:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        reason = getattr(cause, "reason", None)
        candidates = [reason, *cause.args, cause.__cause__, cause.__context__]
        pending += [item for item in candidates if isinstance(item, BaseException)]


def connection_problem(error: BaseException, address: str) -> str | None:
    """Why no answer came from ``address`` (``host:port``, the caller's public part of
    the URL), e.g. ``connection refused by 127.0.0.1:9``; None when the chain holds no
    known cause."""
    chain = list(causes(error))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate of {address} not trusted: {cause.verify_message}"
    for kind, words in _KNOWN:
        if any(isinstance(cause, kind) for cause in chain):
            return f"{words} {address}"
    if any(isinstance(cause, ssl.SSLError) for cause in chain):
        return f"TLS handshake with {address} failed"
    return None


# Most specific first: the name lookup's error is an OSError too.
_KNOWN: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused by"),
    (ConnectionResetError, "connection reset by"),
    (ConnectionAbortedError, "connection aborted by"),
    (socket.gaierror, "could not resolve"),
)
