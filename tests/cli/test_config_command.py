"""`snapd --version`, `config validate|show|schema` and `plan`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from snapd import __version__
from snapd.cli import main
from tests.conftest import EXAMPLE_CONFIG, PolicyWriter

# Every check of the file runs with both YAML parsers.
pytestmark = pytest.mark.usefixtures("yaml_loader")


def run_cli(
    *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run snapd in a child process, as an operator would, and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "snapd.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"snapd {__version__}"


def test_validate_offline_accepts_the_example_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["config", "validate", "--offline", "-c", str(EXAMPLE_CONFIG)]) == 0
    assert "valid, 2 virtual machine(s)" in capsys.readouterr().out


def test_validate_lists_every_problem_and_exits_2_without_a_traceback(
    write_config: PolicyWriter,
) -> None:
    path = write_config(
        """
        defaults:
          schedule: "0 3 * *"
          min_agee: 6h
        vms:
          - id: abc
          - id: 5
            jitter: soon
        """
    )
    result = run_cli("config", "validate", "-c", str(path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 4
    assert [line.split(": ")[2].rsplit(":", 1)[1] for line in lines] == ["2", "3", "5", "7"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "file not found"), ("vms: [\n", "invalid YAML"), ("", "the file is empty")],
)
def test_unusable_policy_files_exit_2_with_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    if content is not None:
        path.write_text(content)
    result = run_cli("config", "validate", "-c", str(path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert expected in result.stderr


def test_show_prints_effective_settings_with_the_token_masked(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("very-secret-token")
    token_file.chmod(0o600)
    path = write_config(
        f"""
        api: {{token_file: {token_file}}}
        defaults: {{schedule: "0 3 * * *", min_age: 6h}}
        vms:
          - {{id: 1, name: web-1}}
          - {{id: 2, min_age: 1h}}
        """
    )
    result = run_cli("config", "show", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert "very-secret-token" not in result.stdout + result.stderr
    assert f"token: '*** (from {token_file})'" in result.stdout
    assert "min_age: 6h" in result.stdout
    assert "min_age: 1h" in result.stdout
    assert "protect_manual: 1d" in result.stdout
    assert "stop_timeout: 10s" in result.stdout


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["vms"]["items"]["required"] == ["id"]


def test_plan_for_sunday_at_three_shows_only_sundays(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('vms:\n  - {id: 1, name: db, schedule: "0 3 * * 0"}\n')
    code = main(["plan", "-c", str(path), "--count", "4", "--after", "2025-01-01T00:00:00Z"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "db (id 1): '0 3 * * 0' in UTC"
    assert lines[1:] == [
        f"  2025-01-{day:02d}T03:00:00Z  2025-01-{day:02d}T03:00:00+00:00 Sun"
        for day in (5, 12, 19, 26)
    ]


def test_plan_shows_utc_and_the_local_time_of_the_vm(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('vms:\n  - {id: 1, schedule: "30 2 * * *", timezone: Europe/Vilnius}\n')
    main(["plan", "-c", str(path), "--count", "1", "--after", "2025-07-01T00:00:00Z"])
    assert "2025-07-01T23:30:00Z  2025-07-02T02:30:00+03:00 Wed" in capsys.readouterr().out


def test_bad_arguments_exit_2() -> None:
    result = run_cli("plan", "--count", "zero")
    assert result.returncode == 2
    assert "expected a whole number" in result.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "commands:" in result.stderr


def test_show_masks_the_secrets_of_a_health_check_url_but_not_hook_arguments(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        """
        vms:
          - id: 1
            schedule: "@daily"
            health_check: {url: "https://monitor:s3cret@web-1.example.com:8443/healthz?key=k3y"}
            pre_hook: {command: ["/usr/local/bin/flush", "--url", "https://db.example.com/?a=b"]}
        """
    )

    assert main(["config", "show", "-c", str(path)]) == 0

    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "k3y" not in out
    assert "url: https://***:***@web-1.example.com:8443/healthz?key=***" in out
    assert "- https://db.example.com/?a=b" in out
    assert "expect_status: any 2xx" in out  # not [], which reads as "no status is good"


def test_validate_says_a_missing_state_dir_will_be_created(
    write_config: PolicyWriter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", "a-token")
    path = write_config(f"state_dir: {tmp_path / 'new'}\nvms: [{{id: 1, schedule: '@daily'}}]\n")

    assert main(["config", "validate", "-c", str(path)]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"{path}: valid, 1 virtual machine(s)",
        f"{path}: note: state_dir {tmp_path / 'new'} does not exist yet; "
        "snapd will create it (mode 0700)",
    ]
    assert not (tmp_path / "new").exists()


def test_validate_with_a_credentials_dir_that_is_not_a_folder_exits_2_with_one_line(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-folder"
    result = run_cli(
        "config", "validate", "-c", str(EXAMPLE_CONFIG), "--credentials-dir", str(missing)
    )
    assert result.returncode == 2
    assert result.stderr == f"snapd: error: --credentials-dir {missing}: not a folder\n"


def test_a_missing_default_policy_says_how_to_name_another(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SNAPD_CONFIG", raising=False)
    monkeypatch.setattr("snapd.cli.options.DEFAULT_CONFIG_PATH", Path("/nonexistent/config.yaml"))
    assert main(["config", "validate"]) == 2
    assert main(["plan"]) == 2
    assert capsys.readouterr().err.splitlines() == 2 * [
        "snapd: error: /nonexistent/config.yaml: file not found (the default policy file; "
        "pass -c FILE or set $SNAPD_CONFIG to use another)"
    ]


def test_a_missing_policy_named_by_the_environment_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SNAPD_CONFIG", str(tmp_path / "gone.yaml"))
    assert main(["status"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"snapd: error: {tmp_path / 'gone.yaml'}: file not found (the policy named by "
        "$SNAPD_CONFIG; fix it, or pass -c FILE)"
    ]
