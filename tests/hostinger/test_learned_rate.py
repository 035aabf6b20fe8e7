"""One VM's snapshot against a server that allows 30 requests a minute and names too short
a ``Retry-After``: the budget learns instead of storming it with 429s."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from snapd.clock import ManualClock
from snapd.clock_wrappers import SteppingClock
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import ApiObserver, HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import SqliteLedger
from snapd.ledger.locks import VirtualMachineLocks
from snapd.metrics import Metrics
from snapd.pipeline.engine import Engine
from snapd.pipeline.outcome import Result
from snapd.pipeline.wait import PollSettings
from tests.conftest import TOKEN, make_policy

PREFIX = "/api/vps/v1/virtual-machines"


class Paced:
    """An engine whose budget, client and waits all follow one manual clock, as
    ``snapd once`` wires them: a pause of a minute costs no real time."""

    def __init__(
        self,
        fake: FakeHostinger,
        clock: ManualClock,
        state_dir: Path,
        observer: ApiObserver | None = None,
    ) -> None:
        # The default api.requests_per_minute; its waits step the manual clock.
        self.budget = RequestBudget(60, SteppingClock(clock))
        self.client = HostingerClient(
            base_url=fake.base_url,
            token=TOKEN,
            timeout=5.0,
            budget=self.budget,
            clock=clock,
            observer=observer,
        )
        self.ledger = SqliteLedger.open(state_dir)
        self.engine = Engine(
            self.client,
            self.ledger,
            VirtualMachineLocks(state_dir),
            clock,
            poll=PollSettings(first_delay=10.0),
        )

    def close(self) -> None:
        self.client.close()
        self.ledger.close()


def lying_fake(clock: ManualClock, window: tuple[int, float]) -> FakeHostinger:
    return FakeHostinger(
        token=TOKEN, vm_count=1, action_seconds=5.0, clock=clock, fixed_window=window, retry_after=1
    )


def run_once(
    fake: FakeHostinger, clock: ManualClock, tmp_path: Path, observer: ApiObserver | None = None
) -> tuple[Result, Paced]:
    paced = Paced(fake, clock, tmp_path, observer)
    try:
        outcome = paced.engine.start_slot(make_policy(fake.vm_ids[0]), None).result()
    finally:
        paced.close()
    return outcome.result, paced


def test_a_window_used_up_by_others_costs_at_most_three_429s(
    clock: ManualClock, tmp_path: Path
) -> None:
    with lying_fake(clock, (30, 60)) as fake:
        with requests.Session() as other:  # another tool on the same account used the window
            other.headers["Authorization"] = f"Bearer {TOKEN}"
            for _ in range(29):
                other.get(fake.base_url + PREFIX, timeout=5)
        fake.clear_requests()

        result, paced = run_once(fake, clock, tmp_path)

        assert result is Result.SUCCESS
        assert sum(request.status == 429 for request in fake.requests) <= 3
        assert fake.count("POST", "/snapshot") == 1 + sum(
            request.status == 429 and request.method == "POST" for request in fake.requests
        )
        assert paced.budget.learned_requests_per_minute < 60  # it learned


def test_thirty_a_minute_one_every_two_seconds_costs_at_most_three_429s(
    clock: ManualClock, tmp_path: Path
) -> None:
    with lying_fake(clock, (1, 2.0)) as fake:
        result, paced = run_once(fake, clock, tmp_path)

        assert result is Result.SUCCESS
        refused = [request for request in fake.requests if request.status == 429]
        assert 1 <= len(refused) <= 3  # the first teaches the budget the pace
        assert paced.budget.learned_requests_per_minute <= 30


def test_the_learned_rate_is_exported_as_a_gauge(clock: ManualClock, tmp_path: Path) -> None:
    metrics = Metrics()
    with lying_fake(clock, (1, 2.0)) as fake:
        _, paced = run_once(fake, clock, tmp_path, observer=metrics)

    exported = metrics.registry.get_sample_value("snapd_api_budget_requests_per_minute")
    assert exported is not None
    assert exported < 60  # lowered by the 429s, and reported as it recovered
    assert exported == pytest.approx(paced.budget.learned_requests_per_minute, rel=0.1)
