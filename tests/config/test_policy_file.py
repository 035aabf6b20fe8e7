"""`snapd config validate` on policies as operators write them: anchors, typos, many errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.config.schema import VIRTUAL_MACHINE_STATES
from tests.conftest import PROJECT_ROOT, PolicyWriter

# Every check of the file runs with both YAML parsers.
pytestmark = pytest.mark.usefixtures("yaml_loader")

OPENAPI = PROJECT_ROOT / "tests" / "data" / "hostinger-openapi-vps.json"


def test_merge_keys_that_are_overridden_and_x_keys_are_accepted(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        """
        x-common: &common
          schedule: "0 3 * * *"
          jitter: 5m
        vms:
          - <<: *common
            id: 1
          - <<: *common
            id: 2
            jitter: 1m
        """
    )

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 0
    assert main(["config", "show", "-c", str(path)]) == 0

    out = capsys.readouterr().out
    assert f"{path}: valid, 2 virtual machine(s)" in out
    assert "jitter: 5m" in out
    assert "jitter: 1m" in out
    assert "x-common" not in out


def test_a_key_written_twice_by_hand_is_still_a_duplicate(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('vms:\n  - id: 1\n    schedule: "@daily"\n    schedule: "@hourly"\n')

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2

    assert capsys.readouterr().err == f"snapd: error: {path}:4: vms[0].schedule: duplicate key\n"


def test_an_unknown_vm_state_is_rejected_with_a_suggestion(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        'defaults: {schedule: "@daily", allowed_states: [runing]}\nvms: [{id: 1}]\n'
    )

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"snapd: error: {path}:1: defaults.allowed_states[0]: expected one of")
    assert error.endswith("got \"runing\" (did you mean 'running'?)\n")


def test_the_allowed_states_are_the_documented_vm_states() -> None:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    resource = document["components"]["schemas"]["VPS.V1.VirtualMachine.VirtualMachineResource"]
    assert tuple(resource["properties"]["state"]["enum"]) == VIRTUAL_MACHINE_STATES


def test_an_inherited_error_does_not_hide_the_other_problems_which_come_in_line_order(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        """
        defaults: {schedule: "0 3 * * *", jitter: soon}
        vms:
          - id: 1
          - id: 1
          - id: 2
            schedule: "@monthly"
            min_age: never
        """
    )

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f'snapd: error: {path}:1: defaults.jitter: expected a duration like 6h, got "soon"',
        f"snapd: error: {path}:4: vms[1].id: duplicate id 1 (also vms[0])",
        f"snapd: error: {path}:6: vms[2].schedule: the longest gap between slots (31d) "
        "exceeds the snapshot lifetime (20d): the restore point would expire between runs",
        f'snapd: error: {path}:7: vms[2].min_age: expected a duration like 6h, got "never"',
    ]


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token from the environment (a container secret on the test machine would leak in)."""
    monkeypatch.delenv("HOSTINGER_API_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


@pytest.mark.usefixtures("no_token")
def test_validate_refuses_what_run_and_status_refuse_with_the_same_lines(
    write_config: PolicyWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_executable = tmp_path / "hook.sh"
    not_executable.write_text("#!/bin/sh\n")
    empty = tmp_path / "token"
    empty.write_text("\n")
    empty.chmod(0o600)
    path = write_config(
        f"""
        api: {{base_url: "http://example.com", token_file: {empty}}}
        defaults:
          schedule: "@daily"
          pre_hook: {{command: [{tmp_path / "missing-hook"}]}}
        vms:
          - {{id: 1, post_hook: {{command: [{not_executable}]}}}}
        state_dir: {tmp_path / "state"}
        """
    )

    assert main(["config", "validate", "-c", str(path)]) == 2
    validate_lines = _lines(capsys)
    assert main(["status", "-c", str(path)]) == 2
    status_lines = _lines(capsys)
    assert main(["once", "-c", str(path), "--all"]) == 2
    once_lines = _lines(capsys)

    assert validate_lines == [
        f"snapd: error: {path}:1: api.base_url: API base URL 'http://example.com' uses plain "
        "http to a host that is not loopback; the token would cross the network "
        "unencrypted. Use https://.",
        f"snapd: error: token file {empty}: file is empty",
        f"snapd: error: {path}:4: defaults.pre_hook.command: command not found: "
        f"{tmp_path / 'missing-hook'} (virtual machine(s) 1)",
        f"snapd: error: {path}:6: vms[0].post_hook.command: command is not executable: "
        f"{not_executable} (virtual machine(s) 1)",
    ]
    assert status_lines == validate_lines[:2]
    assert once_lines == validate_lines
    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2
    assert _lines(capsys) == validate_lines[:1]


@pytest.mark.usefixtures("no_token")
def test_validate_without_a_token_or_with_a_missing_state_dir_parent_exits_2(
    write_config: PolicyWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        f"state_dir: {tmp_path / 'no' / 'state'}\nvms: [{{id: 1, schedule: '@daily'}}]\n"
    )

    assert main(["config", "validate", "-c", str(path)]) == 2

    lines = _lines(capsys)
    assert lines[0].startswith(f"snapd: error: {path}:1: state_dir: {tmp_path / 'no' / 'state'}")
    assert lines[1].startswith("snapd: error: no API token: set api.token_file")
    assert len(lines) == 2
    path.write_text(f"state_dir: {tmp_path}\nvms: [{{id: 1, schedule: '@daily'}}]\n")
    assert main(["config", "validate", "-c", str(path)]) == 2
    assert _lines(capsys)[0].startswith("snapd: error: no API token: set api.token_file")
    assert main(["config", "validate", "--offline", "-c", str(path)]) == 0


def test_validate_warns_about_a_token_file_others_can_read(
    write_config: PolicyWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("a-token\n")
    token.chmod(0o644)
    path = write_config(
        f"api: {{token_file: {token}}}\nstate_dir: {tmp_path}\n"
        "vms: [{id: 1, schedule: '@daily'}]\n"
    )

    assert main(["config", "validate", "-c", str(path)]) == 0

    assert capsys.readouterr().err == (
        f"snapd: warning: token file {token} is readable by group or others; chmod 600 it\n"
    )


@pytest.mark.usefixtures("no_token")
def test_every_problem_of_the_machine_is_reported_in_one_run_of_validate_once_and_run(
    write_config: PolicyWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "no" / "state"
    path = write_config(
        f"""
        api: {{base_url: "http://api.example.com"}}
        vms: [{{id: 1, schedule: "@daily"}}]
        state_dir: {state_dir}
        """
    )
    expected = [
        f"snapd: error: {path}:3: state_dir: {state_dir}: does not exist, and neither does its "
        f"parent {state_dir.parent} (snapd creates only the last folder)",
        f"snapd: error: {path}:1: api.base_url: API base URL 'http://api.example.com' uses "
        "plain http to a host that is not loopback; the token would cross the network "
        "unencrypted. Use https://.",
    ]
    for command in (["config", "validate"], ["once", "--all"], ["run"]):
        assert main([*command, "-c", str(path)]) == 2
        lines = _lines(capsys)
        assert lines[:2] == expected, command
        assert lines[2].startswith("snapd: error: no API token: set api.token_file"), command
        assert len(lines) == 3, command


def test_plan_and_config_show_do_not_need_the_state_dir_of_the_machine_the_policy_is_for(
    write_config: PolicyWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        f"vms: [{{id: 1, schedule: '@daily'}}]\nstate_dir: {tmp_path / 'no' / 'state'}\n"
    )
    assert main(["plan", "-c", str(path)]) == 0
    assert main(["config", "show", "-c", str(path)]) == 0
    assert capsys.readouterr().err == ""
