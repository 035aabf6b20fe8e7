"""One notification POST, bounded in time and in what it reads.

``timeout`` is a total deadline for connecting, sending and reading the answer, not a
per-read timeout: a receiver that trickles a byte every few seconds or streams without end
is cut off when it passes (a timer shuts the request's sockets down). At most
``ANSWER_LIMIT`` bytes of the answer are read; a longer answer is a failure, since no
receiver of a ping or a webhook has anything that long to say.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError

from snapd.checks.abortable import AbortableAdapter
from snapd.checks.failures import connection_problem

#: Bytes of an answer read at most.
ANSWER_LIMIT = 64 * 1024


class Transfer:
    """One POST on a session of its own, which ``abort`` (from any thread) cuts at once."""

    def __init__(self, user_agent: str) -> None:
        self._why = ""
        self._lock = threading.Lock()
        self._adapter = AbortableAdapter()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._adapter.mount(self._session)

    def abort(self, problem: str = "abandoned at stop") -> None:
        """End the request now; ``post`` then returns a failure named ``problem``."""
        with self._lock:
            self._why = self._why or problem
        self._adapter.abort()

    def post(
        self, url: str, body: bytes, content_type: str, timeout: float
    ) -> tuple[int | None, str]:
        """POST ``body`` to ``url`` within ``timeout`` seconds in total.

        Returns the status (None when no answer came) and a problem ("" when the status is
        2xx and the whole answer was read): ``HTTP 500``, ``timed out after 10s``,
        ``answer longer than 64 KiB``, ``connection refused by HOST:PORT`` (the cause
        named from the exception's type, never its text, which holds the URL, a secret)
        or, for a cause not named, the exception's class name. Never raises for what the
        network or the receiver does.
        """
        deadline = threading.Timer(timeout, self.abort, (f"timed out after {timeout:g}s",))
        deadline.daemon = True
        deadline.start()
        try:
            return self._post(url, body, content_type, timeout)
        finally:
            deadline.cancel()
            self._session.close()

    def _post(
        self, url: str, body: bytes, content_type: str, timeout: float
    ) -> tuple[int | None, str]:
        status: int | None = None
        try:
            answer = self._session.post(
                url,
                data=body,
                headers={"Content-Type": content_type},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            with answer:
                status = answer.status_code
                if not 200 <= status < 300:
                    return status, f"HTTP {status}"
                # Raw bytes: a compressed answer is not inflated (it could be a bomb).
                read = answer.raw.read(ANSWER_LIMIT + 1, decode_content=False)
        except (requests.RequestException, HTTPError, OSError) as error:
            return status, self._problem(error, timeout, url)
        with self._lock:
            if self._why:  # cut off: what was read may look like a short, complete answer
                return status, self._why
        if len(read) > ANSWER_LIMIT:
            return status, f"answer longer than {ANSWER_LIMIT // 1024} KiB"
        return status, ""

    def _problem(self, error: Exception, timeout: float, url: str) -> str:
        with self._lock:
            if self._why:
                return self._why
        if isinstance(error, requests.Timeout):
            return f"timed out after {timeout:g}s"
        return connection_problem(error, _address(url)) or type(error).__name__


def _address(url: str) -> str:
    """``host:port`` of ``url`` (the port the scheme implies when it names none)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
