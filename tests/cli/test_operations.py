"""`snapd once|status|history|hold|release|restore|delete` as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.cli.commands.manual import run_manual
from snapd.config import load_config
from snapd.fakeapi import FakeHostinger, Fault
from snapd.runtime import open_runtime
from tests.conftest import TOKEN, FakeMaker, FakeSettings

ACTION_SECONDS = 1.0


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, with one-second actions."""
    return make_fake(
        FakeSettings(
            token=TOKEN, vm_count=3, action_seconds=ACTION_SECONDS, seed=2, manual_clock=False
        )
    )


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The token in this process's environment (for in-process runs) and for children."""
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    return {**os.environ, "HOSTINGER_API_TOKEN": TOKEN}


@pytest.fixture
def policy_file(tmp_path: Path, live_fake: FakeHostinger) -> Path:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    vms = "\n".join(
        f"  - {{id: {vm}, name: vm-{index}}}" for index, vm in enumerate(live_fake.vm_ids)
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{live_fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        f'defaults: {{schedule: "0 3 * * *"}}\n'
        f"vms:\n{vms}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return path


def give_snapshot(fake: FakeHostinger, vm: int, age: timedelta) -> None:
    """Give ``vm`` a snapshot taken ``age`` ago (by hand, as far as snapd knows)."""
    fake.set_snapshot(vm, datetime.now(UTC) - age)


def snapd(
    *arguments: str, environment: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snapd.cli", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_once_creates_one_verified_snapshot_and_exits_0(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live_fake.vm_ids[0]
    assert main(["once", "-c", str(policy_file), str(vm)]) == 0
    assert live_fake.count("POST", "/snapshot") == 1
    output = capsys.readouterr()
    assert f"{vm}  vm-0  success  created" in output.out
    assert '"event": "snapshot_finished"' in output.err


def test_once_all_runs_every_vm_side_by_side(
    policy_file: Path,
    live_fake: FakeHostinger,
) -> None:
    started = time.monotonic()
    assert main(["once", "-c", str(policy_file), "--all"]) == 0
    assert live_fake.count("POST", "/snapshot") == 3
    # Three one-second actions overlapped: far less than three sequential waits.
    assert time.monotonic() - started < 3 * (ACTION_SECONDS + 2.0)


def test_once_dry_run_posts_nothing_and_exits_0(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["once", "-c", str(policy_file), "--dry-run", "--all"]) == 0
    assert live_fake.count("POST") == 0
    assert capsys.readouterr().out.count("dry_run") >= 3


def test_once_exits_3_when_a_guard_skips(
    policy_file: Path,
    live_fake: FakeHostinger,
) -> None:
    vm = live_fake.vm_ids[0]
    live_fake.set_vm_state(vm, "stopped")
    assert main(["once", "-c", str(policy_file), str(vm)]) == 3
    assert live_fake.count("POST") == 0


def test_once_exits_1_when_the_action_fails(
    policy_file: Path,
    live_fake: FakeHostinger,
) -> None:
    live_fake.inject(Fault(kind="action_error", endpoint="create_snapshot", count=1))
    assert main(["once", "-c", str(policy_file), str(live_fake.vm_ids[0])]) == 1
    assert live_fake.count("POST", "/snapshot") == 1


def test_a_wrong_token_exits_1_within_seconds_without_posting(
    policy_file: Path, live_fake: FakeHostinger, environment: dict[str, str]
) -> None:
    started = time.monotonic()
    result = snapd(
        "once",
        "-c",
        str(policy_file),
        "--all",
        environment={**environment, "HOSTINGER_API_TOKEN": "wrong-token"},
    )
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 10
    assert live_fake.count("POST") == 0
    assert "authentication_failed" in result.stdout
    assert "wrong-token" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["once", "999"], "virtual machine(s) 999 not in"),
        (["once"], "one of the arguments"),
        (["hold", "999", "--for", "soon", "--reason", "x"], "expected a duration"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    policy_file: Path, environment: dict[str, str], arguments: list[str], message: str
) -> None:
    result = snapd(*arguments[:1], "-c", str(policy_file), *arguments[1:], environment=environment)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_token_exits_2_with_one_line(
    policy_file: Path, environment: dict[str, str]
) -> None:
    without = {key: value for key, value in environment.items() if key != "HOSTINGER_API_TOKEN"}
    result = snapd("once", "-c", str(policy_file), "--all", environment=without)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "no API token" in result.stderr


def test_a_state_directory_without_its_parent_exits_2(
    policy_file: Path, environment: dict[str, str], tmp_path: Path
) -> None:
    gone = tmp_path / "gone" / "state"
    policy_file.write_text(policy_file.read_text().replace(str(tmp_path / "state"), str(gone)))
    result = snapd("once", "-c", str(policy_file), "--all", environment=environment)
    assert result.returncode == 2
    assert f"state_dir: {gone}: does not exist, and neither does its parent" in result.stderr


def test_a_process_killed_while_waiting_is_resumed_without_a_second_create(
    policy_file: Path, live_fake: FakeHostinger, environment: dict[str, str]
) -> None:
    vm = live_fake.vm_ids[0]
    live_fake.inject(
        Fault(
            kind="action_states",
            endpoint="create_snapshot",
            states=["created", "sent", "sent", "sent", "success"],
        )
    )
    slow = FakeHostinger  # noqa: F841 - the action above takes ACTION_SECONDS to finish
    process = subprocess.Popen(
        [sys.executable, "-m", "snapd.cli", "once", "-c", str(policy_file), str(vm)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while live_fake.count("POST", "/snapshot") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert live_fake.count("POST", "/snapshot") == 1

    result = snapd("once", "-c", str(policy_file), str(vm), environment=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming_pending_action" in result.stderr
    assert live_fake.count("POST", "/snapshot") == 1


def test_status_and_history_show_what_happened(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live_fake.vm_ids[1]
    main(["once", "-c", str(policy_file), str(vm)])
    capsys.readouterr()
    assert main(["status", "-c", str(policy_file)]) == 0
    status = capsys.readouterr().out.splitlines()
    assert status[0].split() == [
        "VM",
        "NAME",
        "STATE",
        "SNAPSHOT",
        "EXPIRES",
        "LAST",
        "SUCCESS",
        "HOLD",
        "NEXT",
        "RUN",
        "PENDING",
    ]
    row = next(line for line in status if line.startswith(str(vm)))
    assert "running" in row and "never" not in row
    assert main(["history", "-c", str(policy_file), str(vm)]) == 0
    history = capsys.readouterr().out.splitlines()
    assert len(history) == 2 and " success " in history[1]


def test_hold_release_and_the_expiry_warning(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live_fake.vm_ids[0]
    give_snapshot(live_fake, vm, age=timedelta(days=19))
    assert (
        main(["hold", "-c", str(policy_file), str(vm), "--for", "48h", "--reason", "upgrade"]) == 0
    )
    output = capsys.readouterr()
    assert "held until" in output.out
    assert "expires at" in output.err
    assert main(["once", "-c", str(policy_file), str(vm)]) == 3
    assert main(["release", "-c", str(policy_file), str(vm)]) == 0
    assert main(["release", "-c", str(policy_file), str(vm)]) == 1


def test_restore_refuses_without_a_terminal_and_without_yes(
    policy_file: Path, live_fake: FakeHostinger, environment: dict[str, str]
) -> None:
    vm = live_fake.vm_ids[0]
    give_snapshot(live_fake, vm, age=timedelta(days=1))
    result = snapd("restore", "-c", str(policy_file), str(vm), environment=environment)
    assert result.returncode == 2
    assert "refusing to restore without a terminal" in result.stderr
    assert f"snapshot {live_fake.snapshot_of(vm)['id']}" in result.stdout  # type: ignore[index]
    assert live_fake.count("POST") == 0


def test_restore_with_yes_waits_records_and_holds_the_vm(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live_fake.vm_ids[0]
    give_snapshot(live_fake, vm, age=timedelta(days=1))
    assert main(["restore", "-c", str(policy_file), str(vm), "--yes"]) == 0
    assert live_fake.count("POST", "/snapshot/restore") == 1
    assert f"virtual machine {vm} is held for 1d\n" in capsys.readouterr().out
    main(["status", "-c", str(policy_file)])
    assert "restored from snapshot" in capsys.readouterr().out
    assert main(["once", "-c", str(policy_file), str(vm)]) == 3  # held


def test_a_declined_confirmation_changes_nothing_and_exits_0(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vm = live_fake.vm_ids[0]
    give_snapshot(live_fake, vm, age=timedelta(days=1))
    runtime = open_runtime(load_config(policy_file))
    try:
        code = run_manual(
            runtime,
            "delete",
            vm,
            assume_yes=False,
            now=datetime.now(UTC),
            interactive=True,
            ask=lambda question: "n",
        )
    finally:
        runtime.close()
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == "nothing done"
    assert live_fake.count("DELETE") == 0


def test_delete_with_yes_removes_the_snapshot(
    policy_file: Path,
    live_fake: FakeHostinger,
) -> None:
    vm = live_fake.vm_ids[0]
    give_snapshot(live_fake, vm, age=timedelta(days=1))
    assert main(["delete", "-c", str(policy_file), str(vm), "--yes"]) == 0
    assert live_fake.snapshot_of(vm) is None
    assert live_fake.count("DELETE") == 1


def test_the_token_never_reaches_output_or_the_state_directory(
    policy_file: Path, live_fake: FakeHostinger, environment: dict[str, str], tmp_path: Path
) -> None:
    live_fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot", count=1))
    outputs = [
        snapd("-v", "once", "-c", str(policy_file), "--all", environment=environment),
        snapd("status", "-c", str(policy_file), environment=environment),
        snapd("history", "-c", str(policy_file), environment=environment),
        snapd("config", "show", "-c", str(policy_file), environment=environment),
    ]
    for result in outputs:
        assert TOKEN not in result.stdout + result.stderr
    assert "action_adopted" in outputs[0].stderr
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_status_reads_all_states_in_one_request_and_flags_unknown_machines(
    policy_file: Path,
    live_fake: FakeHostinger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy_file.write_text(policy_file.read_text().replace("vms:\n", "vms:\n  - {id: 999}\n"))
    assert main(["status", "-c", str(policy_file)]) == 1
    rows = capsys.readouterr().out.splitlines()
    assert any(row.startswith("999 ") and "not in this account" in row for row in rows)
    assert live_fake.count("GET", "/virtual-machines") == 1
    assert live_fake.count("GET", "/snapshot") == len(live_fake.vm_ids)
