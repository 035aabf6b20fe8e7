"""``--state-dir`` and ``--metrics-listen``: two replicas from one policy on one host."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from snapd.cli import main
from snapd.fakeapi import FakeHostinger
from snapd.ledger import SqliteLedger
from tests.conftest import TOKEN, FakeSettings
from tests.support.daemon import DaemonProcess
from tests.support.policy import write_policy


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on: the policy's metrics.listen cannot be used."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.fixture
def policy(tmp_path: Path, fake: FakeHostinger, busy_port: int) -> Path:
    """A policy whose state_dir and metrics.listen are both unusable on this host."""
    path = write_policy(
        tmp_path / "config.yaml", fake.base_url, fake.vm_ids, tmp_path / "missing" / "state"
    )
    path.write_text(path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{busy_port}"))
    return path


def test_config_show_prints_the_overriding_state_dir_and_metrics_listen(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show", "-c", str(policy)]) == 0
    from_policy = yaml.safe_load(capsys.readouterr().out)
    assert from_policy["state_dir"] == str(tmp_path / "missing" / "state")
    arguments = ["--state-dir", str(tmp_path / "b"), "--metrics-listen", "[::1]:9892"]
    assert main(["config", "show", "-c", str(policy), *arguments]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["state_dir"] == str(tmp_path / "b")
    assert shown["metrics"] == {"listen": "[::1]:9892"}


def test_config_validate_checks_the_overriding_state_dir_and_names_the_option(
    policy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    assert main(["config", "validate", "-c", str(policy)]) == 2
    assert "state_dir: " in capsys.readouterr().err
    assert main(["config", "validate", "-c", str(policy), "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{policy}: valid, 2 virtual machine(s)\n"
    nowhere = tmp_path / "no" / "such"
    assert main(["config", "validate", "-c", str(policy), "--state-dir", str(nowhere)]) == 2
    assert capsys.readouterr().err == (
        f"snapd: error: --state-dir: {nowhere}: does not exist, and neither does its parent "
        f"{nowhere.parent} (snapd creates only the last folder)\n"
    )


def test_hold_writes_to_the_ledger_in_the_overriding_state_dir(
    policy: Path, fake: FakeHostinger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    replica = tmp_path / "replica"
    vm = str(fake.vm_ids[0])
    arguments = ["hold", "-c", str(policy), vm, "--for", "1d", "--reason", "x"]
    assert main([*arguments, "--state-dir", str(replica)]) == 0
    ledger = SqliteLedger.open(replica)
    try:
        holds = ledger.holds(datetime(2000, 1, 1, tzinfo=UTC))
        assert [hold.virtual_machine_id for hold in holds] == [int(vm)]
    finally:
        ledger.close()
    assert not (tmp_path / "missing").exists()


def test_a_metrics_listen_that_is_not_host_and_port_exits_2(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-c", str(policy), "--metrics-listen", "9891"])
    assert exit_.value.code == 2
    assert "expected HOST:PORT like 127.0.0.1:9891, got '9891'" in capsys.readouterr().err


@pytest.fixture
def fake_settings() -> FakeSettings:
    """On the real clock: the daemons run in other processes."""
    return FakeSettings(token=TOKEN, vm_count=2, action_seconds=1.0, manual_clock=False)


def test_two_daemons_run_from_one_policy_each_with_its_own_state_dir_and_metrics_listen(
    policy: Path, tmp_path: Path
) -> None:
    replicas = [
        DaemonProcess(
            policy, "--state-dir", str(tmp_path / name), "--metrics-listen", "127.0.0.1:0"
        )
        for name in ("a", "b")
    ]
    try:
        urls = [replica.metrics_url for replica in replicas]
        assert len(set(urls)) == 2
        for name, url, replica in zip(("a", "b"), urls, replicas, strict=True):
            address = (tmp_path / name / "daemon.url").read_text().strip()
            assert url == f"{address}/metrics"
            assert "snapd_build_info" in replica.scrape()
        # A reload reads the file again; the command line's values still win.
        replicas[0].signal(signal.SIGHUP)
        replicas[0].wait_for("reloaded")
        assert replicas[0].count("reload_needs_restart") == 0
        assert replicas[0].process.poll() is None
    finally:
        codes = [replica.stop() for replica in replicas]
    assert codes == [0, 0]
    assert not (tmp_path / "missing").exists()
