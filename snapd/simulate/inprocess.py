"""How the simulation reaches the fake API: in this thread, without a socket.

Over loopback HTTP every call costs two threads' worth of parsing and switching; at
fleet size and months of virtual time that is most of a simulation's wall time. So the
client's connections (the only thing below its session, request budget, retries,
per-attempt deadline and answer handling) are replaced by :class:`InProcessConnections`:
each "connection" hands the prepared request's method, target and headers to the fake's
``answer`` (its dispatcher, as its HTTP server would) and gives back the status, headers
and body the server would have written, read by ``snapd.hostinger.exchange`` as any
answer. A connection the fake drops without an answer raises what ``http.client`` raises
then (``RemoteDisconnected``), so the client's error handling sees the same failure.

No class here derives from urllib3's or requests': the stand-ins provide what
``exchange`` uses of a connection and of its response (duck typing), and the fake's
answers carry no socket for the deadline keeper to cut (they take no real time).
"""

from __future__ import annotations

from collections.abc import Mapping
from http.client import RemoteDisconnected
from typing import Any, Protocol, cast

from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection

from snapd.hostinger.connections import Route

#: The base URL the simulated daemon is configured with: loopback, so that plain http is
#: allowed, and never connected to (the connections below answer in-process).
IN_PROCESS_BASE_URL = "http://127.0.0.1"


class DirectAnswer(Protocol):
    """The fake's answer to one request (``snapd.fakeapi.direct.DirectAnswer``)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes | None: ...


class Answering(Protocol):
    """The fake's direct entry point (``FakeHostinger.answer``)."""

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> DirectAnswer: ...


class InProcessResponse:
    """What ``exchange`` reads of an answer: ``status``, ``headers``, ``read``."""

    def __init__(self, answer: DirectAnswer) -> None:
        self.status = answer.status
        self.headers = HTTPHeaderDict(dict(answer.headers))
        self._body = memoryview(answer.body or b"")
        self._offset = 0

    def read(self, amount: int | None = None, decode_content: bool = True) -> bytes:
        """The next ``amount`` bytes of the body (all that is left when None); b"" at its end."""
        end = len(self._body) if amount is None else self._offset + amount
        chunk = bytes(self._body[self._offset : end])
        self._offset += len(chunk)
        return chunk


class InProcessConnection:
    """One request's "connection": ``request`` asks the fake, ``getresponse`` answers."""

    def __init__(self, api: Answering) -> None:
        self._api = api
        self._answer: DirectAnswer | None = None
        self.is_connected = False
        #: No socket: the deadline keeper has nothing to cut, and nothing takes real time.
        self.sock = None

    def connect(self) -> None:
        self.is_connected = True

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        """Hand the request to the fake; its body is not read by the fake (as over HTTP)."""
        self._answer = self._api.answer(method, url, headers or {})

    def getresponse(self) -> InProcessResponse:
        answer, self._answer = self._answer, None
        if answer is None or answer.body is None:
            self.is_connected = False
            raise RemoteDisconnected("Remote end closed connection without response")
        return InProcessResponse(answer)

    def close(self) -> None:
        self.is_connected = False


class InProcessConnections:
    """A ``ConnectionSource`` whose connections answer from ``api`` in the calling thread."""

    def __init__(self, api: Answering) -> None:
        self._api = api

    def take(self, route: Route, connect_timeout: float) -> HTTPConnection:
        # exchange() uses only what InProcessConnection provides (see the module's docstring).
        return cast(HTTPConnection, InProcessConnection(self._api))

    def give_back(self, route: Route, connection: HTTPConnection) -> None:
        """Nothing to keep: a new stand-in costs nothing."""

    def close(self) -> None:
        """Nothing to close."""
