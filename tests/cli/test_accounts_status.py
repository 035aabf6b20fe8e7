"""``snapd status``, ``history`` and ``plan`` with several accounts: each account read with
its own token, one table (or list) per account under its name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.cli.commands.loading import refused_token
from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.fakeapi.accounts import FakeAccount, FakeAccounts
from snapd.ledger import AttemptRecord, OperationKind
from snapd.ledger.store import SqliteLedger
from snapd.pipeline.outcome import Result
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


def test_history_groups_the_ledger_by_account(
    accounts: FakeAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)
    with SqliteLedger.open(tmp_path / "state") as ledger:
        for vm, account in ((AGENCY_B[0], "agency-b"), (AGENCY_A[0], "agency-a")):
            ledger.record_attempt(
                AttemptRecord(
                    vm,
                    OperationKind.SNAPSHOT,
                    START,
                    START,
                    START,
                    Result.SUCCESS,
                    "done",
                    account=account,
                )
            )

    assert main(["history", "-c", str(path)]) == 0

    out = capsys.readouterr().out
    assert out.index("account agency-a") < out.index(f" {AGENCY_A[0]} ")
    assert out.index(f" {AGENCY_A[0]} ") < out.index("account agency-b")
    assert out.index("account agency-b") < out.index(f" {AGENCY_B[0]} ")


def test_plan_lists_each_accounts_vms_under_its_name(
    accounts: FakeAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)

    assert main(["plan", "-c", str(path), "--count", "1"]) == 0

    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert lines == [
        "account agency-a",
        "100 (id 100): '0 3 * * *' in UTC",
        "101 (id 101): '0 3 * * *' in UTC",
        "account agency-b",
        "200 (id 200): '0 3 * * *' in UTC",
        "201 (id 201): '0 3 * * *' in UTC",
    ]


def test_status_names_the_token_file_of_the_account_whose_token_was_refused(
    accounts: FakeAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)
    (tmp_path / "b.token").write_text("revoked\n")

    assert main(["status", "-c", str(path)]) == 1

    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("snapd:")]
    assert errors[-1] == (
        f"snapd: error: the API refused the token from account agency-b's token_file "
        f"{tmp_path / 'b.token'}; replace it there"
    )
    assert not any("agency-a" in line for line in errors)


def test_once_names_the_token_file_of_the_account_whose_token_was_refused(
    accounts: FakeAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_two_account_policy(tmp_path, accounts.base_url)
    accounts.revoke("agency-b")

    assert main(["once", "-c", str(path), str(AGENCY_B[0])]) == 1

    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("snapd:")]
    assert errors == [
        f"snapd: error: the API refused the token from account agency-b's token_file "
        f"{tmp_path / 'b.token'}; replace it there"
    ]
    assert accounts["agency-b"].count("POST") == 0


def test_a_refused_token_of_no_listed_account_is_reported_without_an_origin(
    tmp_path: Path,
) -> None:
    path = write_two_account_policy(tmp_path, "http://127.0.0.1:9")

    assert refused_token(load_config(path), "") == "the API refused the token"
