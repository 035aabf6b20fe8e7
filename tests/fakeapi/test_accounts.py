"""The fake API with several accounts: one token each, own VMs, own rate window, own log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from snapd.clock import ManualClock
from snapd.fakeapi.accounts import FakeAccount, FakeAccounts
from tests.support.fakeapi import PREFIX, START, bearer_session


@pytest.fixture
def accounts() -> Iterator[FakeAccounts]:
    fakes = FakeAccounts(
        [
            FakeAccount("a", "token-a", vm_count=2, first_vm_id=100, requests_per_minute=2),
            FakeAccount("b", "token-b", vm_count=2, first_vm_id=200),
        ],
        clock=ManualClock(START),
    )
    with fakes:
        yield fakes


def _list(accounts: FakeAccounts, session: requests.Session) -> requests.Response:
    return session.get(accounts.base_url + PREFIX, timeout=5)


def test_each_token_sees_only_its_own_accounts_virtual_machines(accounts: FakeAccounts) -> None:
    with bearer_session("token-a") as a, bearer_session("token-b") as b:
        a_ids = [vm["id"] for vm in _list(accounts, a).json()]
        b_ids = [vm["id"] for vm in _list(accounts, b).json()]

    assert (a_ids, b_ids) == ([100, 101], [200, 201])
    assert (accounts["a"].count("GET"), accounts["b"].count("GET")) == (1, 1)


def test_one_accounts_rate_window_does_not_refuse_the_others_requests(
    accounts: FakeAccounts,
) -> None:
    with bearer_session("token-a") as a, bearer_session("token-b") as b:
        a_codes = [_list(accounts, a).status_code for _ in range(3)]
        b_codes = [_list(accounts, b).status_code for _ in range(3)]

    assert (a_codes, b_codes) == ([200, 200, 429], [200, 200, 200])


def test_a_revoked_token_is_refused_in_its_own_account_while_the_other_still_answers(
    accounts: FakeAccounts,
) -> None:
    accounts.revoke("a")

    with bearer_session("token-a") as a, bearer_session("token-b") as b:
        assert _list(accounts, a).status_code == 401
        assert _list(accounts, b).status_code == 200
    with bearer_session("nobody's") as stranger:
        assert _list(accounts, stranger).status_code == 401

    assert [request.status for request in accounts["a"].requests] == [401, 401]
    assert [request.status for request in accounts["b"].requests] == [200]
