"""The server's clock, learnt from the Date header of every answer.

The fake runs on a manual clock here, with its server clock skewed by ten minutes; the
client reads local time from the same manual clock, so the offsets are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import AmbiguousRequestError, HostingerClient
from snapd.runtime import open_runtime
from tests.conftest import FakeSettings
from tests.support.client import (
    TOKEN,
    LocalServer,
    Scripted,
    expect_error,
    make_client,
)
from tests.support.client import logs as logs

START = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
SKEW = -600.0


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def fake_settings() -> FakeSettings:
    return FakeSettings(token=TOKEN, vm_count=1, action_seconds=60, seed=0)


@pytest.fixture(autouse=True)
def skewed(fake: FakeHostinger) -> None:
    fake.clock_skew = SKEW


@pytest.fixture
def client(fake: FakeHostinger, clock: ManualClock) -> Iterator[HostingerClient]:
    with make_client(fake.base_url, clock=clock) as running:
        yield running


def test_before_any_answer_the_offset_is_unknown_and_server_now_is_local_now(
    client: HostingerClient, clock: ManualClock
) -> None:
    assert client.server_clock_offset() is None
    assert client.server_now(clock.now()) == clock.now()


def test_the_offset_follows_the_date_header_of_a_successful_answer(
    fake: FakeHostinger, client: HostingerClient, clock: ManualClock
) -> None:
    client.list_virtual_machines()

    assert client.server_clock_offset() == SKEW
    assert client.server_now(clock.now()) == START + timedelta(seconds=SKEW)


def test_an_error_answer_updates_the_offset_too(
    fake: FakeHostinger, client: HostingerClient, clock: ManualClock
) -> None:
    client.list_virtual_machines()
    fake.clock_skew = 90
    fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot"))

    expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert client.server_clock_offset() == 90


def test_an_ambiguous_create_is_found_among_the_actions_by_server_time(
    fake: FakeHostinger, client: HostingerClient, clock: ManualClock
) -> None:
    machine_id = fake.vm_ids[0]
    client.get_virtual_machine(machine_id)
    sent_at = client.server_now(clock.now())
    fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))

    expect_error(AmbiguousRequestError, lambda: client.create_snapshot(machine_id))
    clock.advance(5)
    [action] = client.list_actions(machine_id).actions

    assert action.created_at is not None
    # Ten minutes from the local clock, on the dot by the server's.
    assert abs((action.created_at - clock.now()).total_seconds()) > 500
    assert abs((action.created_at - sent_at).total_seconds()) <= 2


def test_an_answer_without_a_readable_date_keeps_the_last_offset() -> None:
    answers = [
        Scripted(body=[], headers={"Date": "Sun, 01 Jun 2025 03:00:00 GMT"}),
        Scripted(body=[], headers={"Date": "not a date"}),
    ]
    local = ManualClock(START + timedelta(seconds=120))
    with (
        LocalServer(*answers) as server,
        make_client(server.base_url, clock=local) as client,
    ):
        client.list_virtual_machines()
        client.list_virtual_machines()
        assert client.server_clock_offset() == -120


def test_a_runtime_on_a_manual_clock_reads_the_api_clock_against_that_clock(
    clock: ManualClock, fake: FakeHostinger, tmp_path: Path
) -> None:
    """The fake and snapd share a manual clock years away from the machine's: the offset
    the client learns from ``Date`` must be the fake's skew, not the distance between the
    manual clock and the machine's own (which made every verify fail in a long run)."""
    policy = tmp_path / "config.yaml"
    policy.write_text(
        f"api: {{base_url: '{fake.base_url}'}}\n"
        f"vms: [{{id: {fake.vm_ids[0]}, schedule: '0 3 * * *'}}]\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    runtime = open_runtime(load_config(policy), clock=clock, token=TOKEN)
    try:
        runtime.client.get_snapshot(fake.vm_ids[0])
        offset = runtime.client.server_clock_offset()
    finally:
        runtime.close()
    assert offset == SKEW
