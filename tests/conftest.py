"""Shared fixtures: policy files, the fake API on port 0, a manual clock, a wired pipeline."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.config import VirtualMachinePolicy, yaml_source
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger, SqliteLedger
from snapd.ledger.locks import VirtualMachineLocks
from snapd.pipeline.engine import Engine
from snapd.pipeline.operations import Operations
from snapd.pipeline.outcome import NullOutcomeObserver, Outcome
from snapd.pipeline.wait import PollSettings
from tests.support.clock_driver import PollerClockDriver
from tests.support.postgres import postgres_cluster, postgres_dsn  # noqa: F401 - fixtures

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = PROJECT_ROOT / "config.example.yaml"

PolicyWriter = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> PolicyWriter:
    """Write a dedented YAML policy to ``tmp_path/config.yaml`` and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read policies with libyaml's parser (where PyYAML has it), then with the pure-Python
    one: both must give the same policy and the same line in every problem."""
    if request.param == "pure-python":
        monkeypatch.setattr("snapd.config.yaml_source.FAST_LOADER", None)
    elif yaml_source.FAST_LOADER is None:
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


START = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
TOKEN = "test-token-3f9a1c"


@dataclass(frozen=True)
class FakeSettings:
    """How the ``fake`` fixture's API looks; a module or package overrides ``fake_settings``.

    ``manual_clock`` False runs the fake's actions in real time, for a daemon in another
    process that cannot share the test's manual clock.
    """

    token: str = TOKEN
    vm_count: int = 3
    action_seconds: float = 60.0
    seed: int = 1
    manual_clock: bool = True


FakeMaker = Callable[..., FakeHostinger]


@pytest.fixture
def clock_start() -> datetime:
    """Where ``clock`` starts; override it where a test needs another start."""
    return START


@pytest.fixture
def clock(clock_start: datetime) -> ManualClock:
    """A manual clock shared by the fake API and the pipeline: waits cost no real time."""
    return ManualClock(clock_start)


@pytest.fixture
def drive_poller(clock: ManualClock) -> Iterator[PollerClockDriver]:
    """Moves ``clock`` to the end of each of the poller's waits, for the whole test."""
    with PollerClockDriver(clock) as driver:
        yield driver


@pytest.fixture
def gate(clock: ManualClock) -> Iterator[PollerClockDriver]:
    """Drives the poller's waits once the test opens it (``gate.open.set()``): until
    then the actions stay in flight."""
    with PollerClockDriver(clock, opened=False) as driver:
        yield driver


@pytest.fixture
def fake_settings() -> FakeSettings:
    """Three VMs, 60 s actions, on the manual clock; override it to change them."""
    return FakeSettings()


@pytest.fixture
def make_fake(clock: ManualClock) -> Iterator[FakeMaker]:
    """Start fake APIs on 127.0.0.1, port 0; each stops when the test ends.

    ``make_fake(settings, **options)`` takes a ``FakeSettings`` and any further keyword of
    ``FakeHostinger`` (``fixed_window``, ``no_snapshot_as`` …).
    """
    started: list[FakeHostinger] = []

    def make(settings: FakeSettings | None = None, **options: Any) -> FakeHostinger:
        chosen = settings or FakeSettings()
        api = FakeHostinger(
            token=chosen.token,
            vm_count=chosen.vm_count,
            action_seconds=chosen.action_seconds,
            seed=chosen.seed,
            clock=clock if chosen.manual_clock else None,
            **options,
        )
        api.start()
        started.append(api)
        return api

    yield make
    for api in reversed(started):
        api.stop()


@pytest.fixture
def fake(make_fake: FakeMaker, fake_settings: FakeSettings) -> FakeHostinger:
    """The fake Hostinger API as ``fake_settings`` describes it, on port 0."""
    return make_fake(fake_settings)


def make_policy(virtual_machine_id: int, **changes: object) -> VirtualMachinePolicy:
    """A VM policy with the built-in defaults and a daily schedule."""
    base = VirtualMachinePolicy(
        id=virtual_machine_id,
        name=f"vm-{virtual_machine_id}",
        schedule="0 3 * * *",
        timezone="UTC",
        jitter=timedelta(0),
        min_age=timedelta(hours=12),
        protect_manual=timedelta(hours=24),
        action_timeout=timedelta(minutes=30),
        busy_timeout=timedelta(minutes=10),
        catch_up=timedelta(hours=24),
        refresh_before_expiry=timedelta(hours=24),
        hold_after_restore=timedelta(hours=24),
        snapshot_lifetime=timedelta(days=20),
        allowed_states=("running",),
        health_check=None,
        pre_hook=None,
        post_hook=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Pipeline:
    """A pipeline wired to the fake API, a ledger in a temporary folder and a manual clock."""

    fake: FakeHostinger
    clock: ManualClock
    state_dir: Path
    client: HostingerClient
    ledger: Ledger
    locks: VirtualMachineLocks
    engine: Engine
    operations: Operations
    outcomes: list[Outcome]

    def creates(self) -> int:
        """POSTs of new snapshots (restore is another path) the fake has seen."""
        return self.fake.count("POST", "/snapshot")


class RecordingObserver(NullOutcomeObserver):
    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def build_pipeline(
    fake: FakeHostinger, clock: ManualClock, state_dir: Path, token: str = TOKEN
) -> Pipeline:
    client = HostingerClient(
        base_url=fake.base_url,
        token=token,
        timeout=5.0,
        budget=RequestBudget(100_000),
        retry_total_seconds=5.0,
        backoff_factor=0.01,
        clock=clock,
    )
    ledger = SqliteLedger.open(state_dir)
    locks = VirtualMachineLocks(state_dir)
    outcomes: list[Outcome] = []
    poll = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)
    engine = Engine(client, ledger, locks, clock, observer=RecordingObserver(outcomes), poll=poll)
    operations = Operations(client, ledger, locks, clock, poll=poll)
    return Pipeline(fake, clock, state_dir, client, ledger, locks, engine, operations, outcomes)


@pytest.fixture
def pipeline(fake: FakeHostinger, clock: ManualClock, tmp_path: Path) -> Iterator[Pipeline]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    built = build_pipeline(fake, clock, state_dir)
    yield built
    built.client.close()
    built.ledger.close()


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    """Commands configure structlog for the whole process; give every test a clean slate."""
    yield
    structlog.reset_defaults()
