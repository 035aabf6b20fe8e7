"""``snapd simulate`` on the command line: reproducible, no token, bad input in one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from snapd.cli.dispatch import main
from tests.conftest import EXAMPLE_CONFIG
from tests.simulate.scenarios import simulate, write

Capture = pytest.CaptureFixture[str]


def _fleet(count: int) -> str:
    """A policy of ``count`` VMs, a daily schedule spread by jitter, each with a health check."""
    vms = "\n".join(f"  - id: {2000 + index}\n    name: vm-{index}" for index in range(count))
    return (
        "api:\n  base_url: https://developers.hostinger.com\n  requests_per_minute: 120\n"
        'defaults:\n  schedule: "0 3 * * *"\n  jitter: 30m\n'
        "  health_check:\n    url: https://example.com/healthz\n"
        f"vms:\n{vms}\n"
    )


def test_the_same_seed_gives_the_same_report_byte_for_byte(capsys: Capture, tmp_path: Path) -> None:
    policy = _fleet(4)
    first = simulate(
        capsys, tmp_path, "--days", "20", "--faults", "typical", "--seed", "7", policy=policy
    )
    second = simulate(
        capsys, tmp_path, "--days", "20", "--faults", "typical", "--seed", "7", policy=policy
    )
    assert first.output == second.output
    assert first.report["breaches"] == []


def test_the_example_policy_simulates_without_a_token_or_the_network(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOSTINGER_API_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    code = main(["simulate", "-c", str(EXAMPLE_CONFIG), "--days", "30"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "1268054" in output
    assert "INVARIANT BROKEN" not in output


def test_a_harsh_month_for_thirty_vms_breaks_no_invariant_within_thirty_seconds(
    capsys: Capture, tmp_path: Path
) -> None:
    started = time.perf_counter()
    run = simulate(capsys, tmp_path, "--days", "30", "--faults", "harsh", policy=_fleet(30))
    elapsed = time.perf_counter() - started
    assert run.report["breaches"] == []
    assert run.code in (0, 1)
    assert elapsed < 30


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("nowhere.yaml", "neither a preset (none, typical, harsh) nor a readable file"),
        ("bad-kind.yaml", "needs kind (outage, unhealthy, stopped, manual, daemon_down, hold, "),
        ("bad-vm.yaml", "fault 1: vm 7 is not in the policy"),
        ("bad-share.yaml", "fault 1: share must be above 0 and at most 1"),
        ("bad-status.yaml", "fault 1: status must be an HTTP error status (400 to 599)"),
        ("bad-slow.yaml", "fault 1: slow_actions needs seconds above 0"),
        ("bad-hold.yaml", "fault 1: a hold needs a vm and a length"),
    ],
)
def test_a_bad_faults_argument_is_one_line_and_exit_code_2(
    capsys: Capture, tmp_path: Path, faults: str, message: str
) -> None:
    write(tmp_path, "bad-kind.yaml", "- {kind: flood, at: 1d}\n")
    write(tmp_path, "bad-vm.yaml", "- {kind: stopped, vm: 7, at: 1d, length: 1h}\n")
    write(tmp_path, "bad-share.yaml", "- {kind: storm, at: 1d, length: 1h, share: 2}\n")
    write(tmp_path, "bad-status.yaml", "- {kind: storm, at: 1d, length: 1h, status: 200}\n")
    write(tmp_path, "bad-slow.yaml", "- {kind: slow_actions, at: 1d, length: 1h}\n")
    write(tmp_path, "bad-hold.yaml", "- {kind: hold, at: 1d, length: 1h}\n")
    policy = write(tmp_path, "policy.yaml", _fleet(2))
    code = main(["simulate", "-c", str(policy), "--faults", str(tmp_path / faults)])
    errors = capsys.readouterr().err
    assert code == 2
    assert message in errors
    assert len(errors.strip().splitlines()) == 1
