"""`snapd hold --until`: a hold that ends at a given moment instead of after a length."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.fakeapi import FakeHostinger
from snapd.ledger import SqliteLedger
from tests.conftest import TOKEN, PolicyWriter

FAR = datetime(2099, 12, 31, tzinfo=UTC)


@pytest.fixture
def policy(
    write_config: PolicyWriter, fake: FakeHostinger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    vms = "\n".join(f"  - {{id: {vm}, name: vm-{index}}}" for index, vm in enumerate(fake.vm_ids))
    return write_config(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
        "defaults: {schedule: '@daily'}\n"
        f"vms:\n{vms}\n"
        f"state_dir: {tmp_path}\n"
        "log: {format: json}\n"
    )


def hold_until(policy: Path, vm: int, until: str) -> int:
    return main(["hold", "-c", str(policy), str(vm), "--until", until, "--reason", "upgrade"])


@pytest.mark.parametrize(
    ("until", "end"),
    [
        ("2099-12-31T00:00Z", FAR),
        ("2099-12-31T02:00+02:00", FAR),
        ("2099-12-31", FAR),
        ("2099-12-31T10:30:00Z", FAR.replace(hour=10, minute=30)),
    ],
)
def test_a_hold_until_a_moment_ends_exactly_then(
    policy: Path,
    fake: FakeHostinger,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    until: str,
    end: datetime,
) -> None:
    vm = fake.vm_ids[0]
    assert hold_until(policy, vm, until) == 0
    text = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert capsys.readouterr().out == f"virtual machine {vm} held until {text}: upgrade\n"
    ledger = SqliteLedger.open(tmp_path)
    try:
        hold = ledger.active_hold(vm, datetime(2099, 1, 1, tzinfo=UTC))
    finally:
        ledger.close()
    assert hold is not None and hold.until == end


def test_a_hold_until_a_moment_in_the_past_exits_2_with_one_line_and_holds_nothing(
    policy: Path, fake: FakeHostinger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vm = fake.vm_ids[0]
    assert hold_until(policy, vm, "2020-01-01T00:00Z") == 2
    error = capsys.readouterr().err
    assert error.startswith("snapd: error: --until 2020-01-01T00:00:00Z is in the past (now ")
    assert error.count("\n") == 1
    ledger = SqliteLedger.open(tmp_path)
    try:
        assert ledger.holds(datetime(2019, 1, 1, tzinfo=UTC)) == []
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--until", "next tuesday"], "expected a date like 2026-12-31 or a time like"),
        (["--until", "2099-12-31T00:00"], "add Z or an offset like +02:00 to '2099-12-31T00:00'"),
        (["--until", "2099-12-31", "--for", "1d"], "not allowed with argument"),
        ([], "one of the arguments --for --until is required"),
    ],
)
def test_a_hold_with_an_unusable_end_exits_2_with_one_line(
    policy: Path,
    fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["hold", "-c", str(policy), str(fake.vm_ids[0]), "--reason", "x", *arguments])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.splitlines()[-1].startswith("snapd hold: error: ")
    assert "Traceback" not in error
