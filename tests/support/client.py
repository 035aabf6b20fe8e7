"""Helpers shared by the API client tests (this module holds no tests itself).

A test module that wants the fixtures at the end imports each by its own name, as in
``from tests.support.client import fake as fake``: pytest then finds it in that module,
and the redundant alias tells linters that the import is meant.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
import structlog
from structlog.testing import capture_logs

from snapd.fakeapi import FakeHostinger
from snapd.hostinger import ENDPOINTS, HostingerClient
from snapd.hostinger.budget import RequestBudget
from tests.conftest import FakeSettings

#: Distinctive, so that a leak anywhere is found by a plain substring search.
TOKEN = "tok-3f9c2e71d8a54b6e-secret"
CLIENT_FAKE = FakeSettings(token=TOKEN, vm_count=2, action_seconds=0.2, seed=7, manual_clock=False)
VM_PATH = "/api/vps/v1/virtual-machines/{}"

_Error = TypeVar("_Error", bound=BaseException)


class RecordingObserver:
    """An ApiObserver that remembers every report."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str, str, float]] = []
        self.retried: list[tuple[str, str]] = []
        self.budget_rates: list[float] = []
        self._lock = threading.Lock()

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        with self._lock:
            self.finished.append((method, endpoint, code, seconds))

    def request_retried(self, endpoint: str, reason: str) -> None:
        with self._lock:
            self.retried.append((endpoint, reason))

    def budget_changed(self, requests_per_minute: float) -> None:
        with self._lock:
            self.budget_rates.append(requests_per_minute)

    def codes(self) -> list[str]:
        return [code for _, _, code, _ in self.finished]


class RecordingBudget(RequestBudget):
    """A fast real budget that remembers acquisitions, pauses and header observations."""

    def __init__(self) -> None:
        super().__init__(6000, burst=100)
        self.acquired = 0
        self.pauses: list[float] = []
        self.observed: list[tuple[int | None, float | None]] = []

    def acquire(self) -> float:
        self.acquired += 1
        return super().acquire()

    def pause_for(self, seconds: float) -> None:
        self.pauses.append(seconds)
        super().pause_for(seconds)

    def rate_limited(self, seconds: float, *, reset_seconds: float | None = None) -> None:
        self.pauses.append(seconds)
        super().rate_limited(seconds, reset_seconds=reset_seconds)

    def observe_headers(self, remaining: int | None, reset_seconds: float | None) -> None:
        self.observed.append((remaining, reset_seconds))
        super().observe_headers(remaining, reset_seconds)


def make_client(base_url: str, **options: Any) -> HostingerClient:
    """A client with fast test settings; ``options`` override them."""
    settings: dict[str, Any] = {
        "token": TOKEN,
        "timeout": 2.0,
        "budget": RequestBudget(6000, burst=100),
        "backoff_factor": 0.01,
        "retry_total_seconds": 10.0,
    }
    settings.update(options)
    return HostingerClient(base_url=base_url, **settings)


@contextmanager
def running_fake(**options: Any) -> Iterator[FakeHostinger]:
    settings: dict[str, Any] = {"token": TOKEN, "vm_count": 2, "action_seconds": 0.2, "seed": 7}
    settings.update(options)
    with FakeHostinger(**settings) as fake:
        yield fake


@contextmanager
def all_logs_captured() -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture every structlog event, debug included, whatever was configured before.

    Another test may have configured a level filter process-wide; it is set aside for
    the duration and restored afterwards.
    """
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text


def expect_error(error_type: type[_Error], call: Callable[[], object]) -> _Error:
    """Run ``call``, which must raise ``error_type``; check the token is nowhere in it."""
    with pytest.raises(error_type) as caught:
        call()
    error = caught.value
    assert_no_token(
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
    )
    return error


def templates() -> set[str]:
    return set(ENDPOINTS.values())


@dataclass
class Scripted:
    """One canned answer of a :class:`LocalServer`; ``body`` is JSON-encoded unless bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """A tiny HTTP server on 127.0.0.1 that answers from a script and records requests.

    For exact control of headers, which the fake API does not offer. The last scripted
    answer repeats when the script runs out.
    """

    def __init__(self, *answers: Scripted) -> None:
        self.answers = list(answers) or [Scripted()]
        self.received: list[tuple[str, str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                owner.received.append((self.command, self.path, dict(self.headers.items())))
                scripted = owner.answers.pop(0) if len(owner.answers) > 1 else owner.answers[0]
                body = (
                    scripted.body
                    if isinstance(scripted.body, bytes)
                    else json.dumps(scripted.body).encode()
                )
                # No automatic Server/Date headers: a scripted Date must be the only one.
                self.send_response_only(scripted.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def vm_path(fake: FakeHostinger, suffix: str = "") -> str:
    """The path of the fake's first virtual machine, with ``suffix`` appended."""
    return VM_PATH.format(fake.vm_ids[0]) + suffix


# -- fixtures: a fake API with a client that reports to a recording observer and budget --


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture structlog and stdlib logging; the token must be in neither."""
    caplog.set_level(logging.DEBUG)
    with all_logs_captured() as captured:
        yield captured
    assert_no_token(repr(captured), caplog.text)


@pytest.fixture
def fake_settings() -> FakeSettings:
    """The client tests' fake: two VMs, short actions in real time, their own token."""
    return CLIENT_FAKE


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
def budget() -> RecordingBudget:
    return RecordingBudget()


@pytest.fixture
def client(
    fake: FakeHostinger, observer: RecordingObserver, budget: RecordingBudget
) -> Iterator[HostingerClient]:
    with make_client(fake.base_url, observer=observer, budget=budget) as running:
        yield running
