"""The simulation's in-process route to the fake API answers as its HTTP server does.

Two fakes with the same seed and clock: one served over loopback HTTP, one asked
in-process. The same calls through the real client give the same results, the same
typed errors and the same request logs; the raw answers carry the same status, headers
and body.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from snapd.clock import ManualClock
from snapd.clock_wrappers import SteppingClock
from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import ApiError, HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.simulate.inprocess import IN_PROCESS_BASE_URL, InProcessConnections
from tests.simulate.scenarios import simulate

TOKEN = "in-process-token"
START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
VM = 1268054


@pytest.fixture
def twins() -> Iterator[tuple[FakeHostinger, FakeHostinger, ManualClock]]:
    clock = ManualClock(START)
    over_http = FakeHostinger(token=TOKEN, seed=7, clock=clock, action_seconds=60)
    in_process = FakeHostinger(token=TOKEN, seed=7, clock=clock, action_seconds=60)
    over_http.start()
    try:
        yield over_http, in_process, clock
    finally:
        over_http.stop()


def _client(clock: ManualClock, base_url: str, **options: Any) -> HostingerClient:
    budget = RequestBudget(6000, SteppingClock(clock))
    return HostingerClient(base_url, TOKEN, budget=budget, clock=clock, **options)


def _outcome(call: Callable[[], object]) -> object:
    """The call's result, or its typed error as (class, status, message, correlation id)."""
    try:
        return call()
    except ApiError as error:
        return (type(error).__name__, error.status, str(error), error.correlation_id)


def _calls(client: HostingerClient) -> list[Callable[[], object]]:
    return [
        client.list_virtual_machines,
        lambda: client.get_snapshot(VM),
        lambda: client.create_snapshot(VM),
        lambda: client.create_snapshot(VM),  # busy: the first one still runs
        lambda: client.get_action(VM, 1),  # no such action: 404
        lambda: client.list_actions(VM),
        lambda: client.list_backups(VM),
    ]


def test_the_client_gets_the_same_results_and_errors_in_process_as_over_http(
    twins: tuple[FakeHostinger, FakeHostinger, ManualClock],
) -> None:
    over_http, in_process, clock = twins
    http_client = _client(clock, over_http.base_url, retry_total_seconds=0)
    direct_client = _client(
        clock, IN_PROCESS_BASE_URL, retry_total_seconds=0,
        connections=InProcessConnections(in_process),
    )  # fmt: skip
    results: dict[str, list[object]] = {"http": [], "direct": []}
    for http_call, direct_call in zip(_calls(http_client), _calls(direct_client), strict=True):
        results["http"].append(_outcome(http_call))
        results["direct"].append(_outcome(direct_call))
    for fault in (Fault("status", status=503), Fault("accept_then_drop", "create_snapshot")):
        over_http.inject(fault)
        in_process.inject(fault)
        clock.advance(120)
        results["http"].append(_outcome(lambda: http_client.create_snapshot(VM)))
        results["direct"].append(_outcome(lambda: direct_client.create_snapshot(VM)))

    assert results["direct"] == results["http"]
    assert results["direct"][-1][0] == "AmbiguousRequestError"  # type: ignore[index]
    assert results["direct"][-2][1] == 503  # type: ignore[index]
    assert in_process.requests == over_http.requests


def test_a_raw_answer_has_the_status_headers_and_body_the_http_server_sends(
    twins: tuple[FakeHostinger, FakeHostinger, ManualClock],
) -> None:
    over_http, in_process, _ = twins
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    for target in ("/api/vps/v1/virtual-machines", f"/api/vps/v1/virtual-machines/{VM}/snapshot"):
        sent = requests.get(over_http.base_url + target, headers=headers, timeout=10)
        answered = in_process.answer("GET", target, headers)

        assert answered.status == sent.status_code
        assert answered.body == sent.content
        assert answered.headers == {
            name: value for name, value in sent.headers.items() if name != "Connection"
        }


def test_a_simulation_opens_no_socket(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*arguments: object, **options: object) -> None:
        raise AssertionError("the simulation opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)

    run = simulate(capsys, tmp_path, "--days", "3", "--faults", "typical")

    assert run.code in (0, 1), run.errors
    assert run.report["breaches"] == []
