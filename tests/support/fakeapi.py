"""Constants, helpers and fixtures shared by the fake API tests (no tests here).

A test module imports each fixture it uses by its own name, as in
``from tests.support.fakeapi import fake as fake``: pytest then finds it in that module, and
the redundant alias tells linters that the import is meant. Imported so, ``clock`` and
``fake`` take the place of the ones in ``conftest.py`` for that module: the fake API tests
run on their own start time and action length, with the fake's default fleet. ``fake``
needs ``action_seconds`` too, imported or overridden by the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from snapd.fakeapi import FakeHostinger
from tests.conftest import FakeSettings

TOKEN = "fakeapi-token"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ACTION_SECONDS = 100.0
PREFIX = "/api/vps/v1/virtual-machines"


def bearer_session(token: str = TOKEN) -> requests.Session:
    """A session that sends ``token`` as bearer token; close it, or open it with ``with``."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def call(
    fake: FakeHostinger, session: requests.Session, method: str, path: str = "", timeout: float = 5
) -> requests.Response:
    """Send ``method`` to ``path``, taken below the virtual-machines prefix of ``fake``."""
    return session.request(method, fake.base_url + PREFIX + path, timeout=timeout)


@pytest.fixture
def action_seconds() -> float:
    """How long an action of ``fake`` runs; a module overrides this fixture to change it."""
    return ACTION_SECONDS


@pytest.fixture
def clock_start() -> datetime:
    """The fake API tests' manual clock starts at ``START``."""
    return START


@pytest.fixture
def fake_settings(action_seconds: float) -> FakeSettings:
    """The fake API accepting ``TOKEN``, with its default fleet, on the manual clock."""
    return FakeSettings(token=TOKEN, action_seconds=action_seconds, seed=0)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session that sends ``TOKEN``."""
    with bearer_session() as opened:
        yield opened


@pytest.fixture
def machine_id(fake: FakeHostinger) -> int:
    return fake.vm_ids[0]
