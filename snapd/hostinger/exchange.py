"""One HTTP attempt with a total deadline and a bounded body.

``requests`` only knows a timeout per socket read: a server that trickles one byte every
few seconds keeps an attempt alive forever, and ``response.content`` holds whatever the
server sends. :func:`exchange` bounds both:

* the body is read streamed and reading stops at :data:`MAXIMUM_BODY_BYTES` (decoded
  bytes, so a compressed bomb is bounded too);
* a watchdog shuts the attempt's socket down when the deadline passes (one thread keeps
  every attempt's deadline, :mod:`snapd.hostinger.deadlines`), whichever phase the
  attempt is in (sending, waiting for headers, reading the body), and the elapsed time is
  checked again between body chunks.

The watchdog learns the socket through :class:`WatchedAdapter`, whose connections
register themselves with the watchdog of the thread that sends on them. A connection
taken over by a later attempt is no longer the earlier watchdog's to shut down, so a late
timer can only close an idle pooled connection, which urllib3 notices and replaces.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from snapd.clock import monotonic, unix_time
from snapd.hostinger.deadlines import DeadlineTimers
from snapd.hostinger.watchdog import Watchdog

__all__ = [
    "MAXIMUM_BODY_BYTES",
    "DeadlineExceededError",
    "Reply",
    "WatchedAdapter",
    "exchange",
]

#: Bodies beyond this are not read: no answer snapd needs comes near it.
MAXIMUM_BODY_BYTES = 1024 * 1024

_CHUNK_BYTES = 64 * 1024

#: The deadlines of every attempt in the process, on one thread.
TIMERS = DeadlineTimers()


class DeadlineExceededError(Exception):
    """The attempt did not finish within its total deadline (the request was sent)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What one attempt received.

    ``content`` is the whole body, or ``None`` when it was larger than
    :data:`MAXIMUM_BODY_BYTES` (then it was not read past the cap). ``received_at`` is
    the wall-clock time at which the headers arrived.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes | None
    received_at: float


_current = threading.local()


def _attach_current(connection: HTTPConnection) -> None:
    watchdog: Watchdog | None = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}
_PLAIN_POOLS = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections report to the deadline watchdog of their attempt.

    Direct connections and HTTP(S) proxies are watched. A SOCKS proxy keeps its own
    connection classes: there only the per-read timeout and the check between body
    chunks bound an attempt.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if getattr(manager, "pool_classes_by_scheme", None) == _PLAIN_POOLS:
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


@contextlib.contextmanager
def _watched(seconds: float) -> Iterator[Watchdog]:
    watchdog = Watchdog(seconds, TIMERS)
    _current.watchdog = watchdog
    watchdog.start()
    try:
        yield watchdog
    finally:
        watchdog.finish()
        _current.watchdog = None


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: Mapping[str, int] | None,
    timeout: tuple[float, float],
    total_seconds: float,
    monotonic: Callable[[], float] = monotonic,
    wall_clock: Callable[[], float] = unix_time,
) -> Reply:
    """Send one request and read its answer, all within ``total_seconds``.

    Raises:
        DeadlineExceededError: the deadline passed after the request started to go out.
        requests.RequestException, urllib3.exceptions.HTTPError, OSError: the attempt
            failed otherwise; the caller classifies it.
    """
    deadline = monotonic() + total_seconds
    with _watched(total_seconds) as watchdog:
        try:
            response = session.request(
                method,
                url,
                params=dict(params) if params else None,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            received_at = wall_clock()
            watchdog.follow_answer(response)
            try:
                content = _read_capped(response, deadline, monotonic)
            finally:
                response.close()
        except DeadlineExceededError:
            raise
        except Exception:
            if watchdog.cut:
                raise DeadlineExceededError(
                    f"no complete answer within {total_seconds:g} s"
                ) from None
            raise
    return Reply(response.status_code, response.headers, content, received_at)


def _read_capped(
    response: requests.Response, deadline: float, monotonic: Callable[[], float]
) -> bytes | None:
    """The body, or ``None`` once it grows past the cap; checks the deadline per chunk."""
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
        body += chunk
        if len(body) > MAXIMUM_BODY_BYTES:
            return None
        if monotonic() > deadline:
            raise DeadlineExceededError("the answer was still arriving at the deadline")
    return bytes(body)
