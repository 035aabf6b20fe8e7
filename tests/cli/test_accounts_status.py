"""``snapd status`` with several accounts: each account read with its own token, one
table per account under its name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.clock import ManualClock
from snapd.fakeapi.accounts import FakeAccount, FakeAccounts
from tests.daemon.test_accounts import AGENCY_A, AGENCY_B, write_two_account_policy
from tests.support.fakeapi import START


@pytest.fixture
def accounts() -> Iterator[FakeAccounts]:
    fakes = FakeAccounts(
        [
            FakeAccount("agency-a", "token-a", vm_count=2, first_vm_id=AGENCY_A[0]),
            FakeAccount("agency-b", "token-b", vm_count=2, first_vm_id=AGENCY_B[0]),
        ],
        clock=ManualClock(START),
    )
    with fakes:
        yield fakes


def test_status_reads_each_account_with_its_token_and_groups_the_table_by_account(
    accounts: FakeAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)

    assert main(["status", "-c", str(path)]) == 0

    out = capsys.readouterr().out
    assert out.index("account agency-a") < out.index("100") < out.index("account agency-b")
    assert out.index("account agency-b") < out.index("200")
    for name, vms in (("agency-a", AGENCY_A), ("agency-b", AGENCY_B)):
        fake = accounts[name]
        assert fake.count("GET", "/virtual-machines") == 1
        assert {request.status for request in fake.requests} == {200, 404}
        assert fake.count("GET", "/snapshot") == len(vms)
