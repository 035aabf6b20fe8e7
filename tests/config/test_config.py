"""The policy file: defaults, overrides and every kind of bad input."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.config import ConfigError, load_config
from snapd.config.schema import POLICY_SCHEMA
from tests.conftest import EXAMPLE_CONFIG, PolicyWriter

# Every check of the file runs with both YAML parsers.
pytestmark = pytest.mark.usefixtures("yaml_loader")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_the_example_configuration_is_valid() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert [policy.id for policy in config.vms] == [1268054, 1268055]


def test_the_example_configuration_also_passes_a_standard_json_schema_validator() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    jsonschema.Draft202012Validator.check_schema(POLICY_SCHEMA)
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    jsonschema.Draft202012Validator(POLICY_SCHEMA).validate(document)


def test_built_in_defaults_apply_when_keys_are_absent(write_config: PolicyWriter) -> None:
    config = load_config(write_config('vms:\n  - id: 7\n    schedule: "0 3 * * *"\n'))
    policy = config.vms[0]
    assert policy.timezone == "UTC"
    assert policy.jitter == timedelta(0)
    assert policy.min_age == timedelta(hours=12)  # half of the daily gap
    assert policy.protect_manual == timedelta(hours=24)
    assert policy.action_timeout == timedelta(minutes=30)
    assert policy.busy_timeout == timedelta(minutes=10)
    assert policy.catch_up == timedelta(hours=24)
    assert policy.refresh_before_expiry == timedelta(hours=24)
    assert policy.hold_after_restore == timedelta(hours=24)
    assert policy.allowed_states == ("running",)
    assert policy.name == "7"
    assert config.api.base_url == "https://developers.hostinger.com"
    assert config.api.timeout == timedelta(seconds=30)
    assert config.api.requests_per_minute == 60
    assert config.metrics.listen == "127.0.0.1:9891"
    assert config.state_dir == Path("/var/lib/hostinger-snapd")
    assert (config.log.format, config.log.level) == ("auto", "info")


def test_a_policy_naming_an_older_state_dir_keeps_reading_it(write_config: PolicyWriter) -> None:
    config = load_config(
        write_config('state_dir: /var/lib/snapd\nvms:\n  - id: 7\n    schedule: "@daily"\n'),
        offline=True,
    )
    assert config.state_dir == Path("/var/lib/snapd")


def test_min_age_defaults_to_half_the_shortest_gap_of_the_schedule(
    write_config: PolicyWriter,
) -> None:
    config = load_config(write_config('vms:\n  - id: 7\n    schedule: "0 3,9 * * *"\n'))
    assert config.vms[0].min_age == timedelta(hours=3)


def test_vm_keys_override_defaults(write_config: PolicyWriter) -> None:
    path = write_config(
        """
        defaults:
          schedule: "0 3 * * *"
          min_age: 6h
          timezone: Europe/Berlin
        vms:
          - id: 1
          - id: 2
            min_age: 1h30m
            timezone: America/New_York
        """
    )
    first, second = load_config(path).vms
    assert (first.min_age, first.timezone) == (timedelta(hours=6), "Europe/Berlin")
    assert (second.min_age, second.timezone) == (timedelta(minutes=90), "America/New_York")


def test_zero_turns_off_guards_that_may_be_off(write_config: PolicyWriter) -> None:
    path = write_config(
        """
        defaults: {schedule: "@daily", jitter: 0s, min_age: 0s, protect_manual: 0s,
                   hold_after_restore: 0s}
        vms: [{id: 1}]
        """
    )
    policy = load_config(path).vms[0]
    assert policy.min_age == policy.protect_manual == policy.hold_after_restore == timedelta(0)


def test_three_different_errors_are_all_reported_with_file_and_line(
    write_config: PolicyWriter,
) -> None:
    path = write_config(
        """
        defaults:
          schedule: "0 3 * * *"
          min_agee: 6h
        vms:
          - id: 1
            timezone: Mars/Olympus
          - id: 2
            jitter: soon
        """
    )
    assert problems_of(path) == [
        f"{path}:3: defaults.min_agee: unknown key (did you mean 'min_age'?); known keys: "
        "schedule, timezone, jitter, min_age, protect_manual, action_timeout, busy_timeout, "
        "catch_up, refresh_before_expiry, hold_after_restore, snapshot_lifetime, "
        "allowed_states, health_check, pre_hook, post_hook, notify, account",
        f"{path}:6: vms[0].timezone: unknown time zone 'Mars/Olympus' "
        "(expected an IANA name like Europe/Berlin)",
        f'{path}:8: vms[1].jitter: expected a duration like 6h, got "soon"',
    ]


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ("vms: [\n", 2, "invalid YAML"),
        ("- just\n- a list\n", 1, "(top level): expected a mapping, got a list"),
        (
            'vms:\n  - id: 1\n    schedule: "61 3 * * *"\n',
            3,
            "vms[0].schedule: bad cron line '61 3 * * *': minute: 61 is out of range 0-59",
        ),
        (
            'vms:\n  - id: 1\n    schedule: "0 3 * *"\n',
            3,
            "vms[0].schedule: bad cron line '0 3 * *': expected 5 fields",
        ),
        (
            'vms:\n  - id: "abc"\n    schedule: "@daily"\n',
            2,
            'vms[0].id: expected an integer, got "abc"',
        ),
        (
            'vms:\n  - id: 1\n    schedule: "@daily"\n  - id: 1\n    schedule: "@daily"\n',
            4,
            "vms[1].id: duplicate id 1 (also vms[0])",
        ),
        (
            "vms:\n  - {id: 1, name: web, schedule: '@daily'}\n"
            "  - {id: 2, name: web, schedule: '@daily'}\n",
            3,
            "vms[1].name: duplicate name web (also vms[0])",
        ),
        ('vms:\n  - id: 1\n    schedule: "@daily"\n    jitter: soon\n', 4, "vms[0].jitter"),
        ("vms: []\n", 1, "vms: needs at least 1 item(s)"),
        ("vms:\n  - id: 1\n", 2, "vms[0]: no schedule"),
        (
            'vms:\n  - id: 1\n    schedule: "@daily"\n    action_timeout: 0s\n',
            4,
            "vms[0].action_timeout: must be longer than 0s",
        ),
        (
            'vms:\n  - id: 1\n    schedule: "@daily"\n    pre_hook: {command: [x], timeout: 0s}\n',
            4,
            "vms[0].pre_hook.timeout: must be longer than 0s",
        ),
        (
            'api:\n  timeout: 0s\nvms:\n  - id: 1\n    schedule: "@daily"\n',
            2,
            "api.timeout: must be longer than 0s",
        ),
        (
            'vms:\n  - id: 1\n    schedule: "0 3 1 */2 *"\n',
            3,
            "vms[0].schedule: the longest gap between slots (62d) exceeds the snapshot lifetime",
        ),
        ('vms:\n  - id: 1\n    schedule: "@daily"\n    schedule: "@hourly"\n', 4, "duplicate key"),
        ('vms:\n  - id: 1\n    schedule: "0 0 31 2 *"\n', 3, "never fires"),
        ('metrics: {listen: "everywhere"}\nvms: [{id: 1, schedule: "@daily"}]\n', 1, "HOST:PORT"),
    ],
)
def test_bad_input_gives_a_one_line_error_with_file_and_line(
    write_config: PolicyWriter, body: str, line: int, expected: str
) -> None:
    path = write_config(body)
    problems = problems_of(path)
    assert any(
        problem.startswith(f"{path}:{line}: ") and expected in problem for problem in problems
    ), problems
    assert all("\n" not in problem for problem in problems)


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert problems_of(path) == [f"{path}: file not found"]


def test_an_unreadable_file_is_one_clear_problem(
    write_config: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config("vms: []\n")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the read fail as it would for others
        original = Path.read_text

        def refuse(self: Path, *arguments: object, **keywords: object) -> str:
            if self == path:
                raise PermissionError(13, "Permission denied")
            return original(self, *arguments, **keywords)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", refuse)
    assert problems_of(path) == [f"{path}: permission denied"]


def test_the_schema_is_printable_json() -> None:
    assert json.loads(json.dumps(POLICY_SCHEMA))["required"] == ["vms"]


def test_a_token_file_named_in_the_policy_must_be_readable(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    path = write_config(
        f"api: {{token_file: {tmp_path / 'absent'}}}\nvms: [{{id: 1, schedule: '@daily'}}]\n"
    )
    assert problems_of(path) == [f"{path}:1: api.token_file: {tmp_path / 'absent'}: file not found"]
    path = write_config(f"api:\n  token_file: {tmp_path}\nvms: [{{id: 1, schedule: '@daily'}}]\n")
    assert problems_of(path) == [f"{path}:2: api.token_file: {tmp_path}: not a regular file"]


def test_a_relative_token_file_is_read_beside_the_policy(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("t")
    config = load_config(
        write_config("api: {token_file: token}\nvms: [{id: 1, schedule: '@daily'}]\n")
    )
    assert config.api.token_file == tmp_path / "token"


def test_stop_timeout_defaults_to_ten_seconds_and_can_be_set(write_config: PolicyWriter) -> None:
    vms = "vms: [{id: 1, schedule: '@daily'}]\n"
    assert load_config(write_config(vms)).stop_timeout == timedelta(seconds=10)
    assert load_config(write_config("stop_timeout: 2m\n" + vms)).stop_timeout == timedelta(
        minutes=2
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0s", "stop_timeout: must be longer than 0s, got '0s'"),
        ("11m", "stop_timeout: must be at most 10m, got '11m'"),
        ("soon", 'stop_timeout: expected a duration like 6h, got "soon"'),
    ],
)
def test_stop_timeout_outside_its_range_is_an_error(
    write_config: PolicyWriter, value: str, message: str
) -> None:
    path = write_config(f"stop_timeout: {value}\nvms: [{{id: 1, schedule: '@daily'}}]\n")
    assert problems_of(path) == [f"{path}:1: {message}"]


def test_a_relative_state_dir_is_beside_the_policy(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    config = load_config(write_config("state_dir: state\nvms: [{id: 1, schedule: '@daily'}]\n"))

    assert config.state_dir == tmp_path / "state"


def test_a_missing_state_dir_is_accepted_when_its_parent_exists(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    path = write_config(f"state_dir: {tmp_path / 'new'}\nvms: [{{id: 1, schedule: '@daily'}}]\n")

    assert load_config(path).state_dir == tmp_path / "new"


def test_a_state_dir_without_its_parent_or_that_is_a_file_is_an_error(
    write_config: PolicyWriter, tmp_path: Path
) -> None:
    vms = "vms: [{id: 1, schedule: '@daily'}]\n"
    missing = tmp_path / "gone" / "state"
    path = write_config(f"{vms}state_dir: {missing}\n")
    assert problems_of(path) == [
        f"{path}:2: state_dir: {missing}: does not exist, and neither does its parent "
        f"{tmp_path / 'gone'} (snapd creates only the last folder)"
    ]
    path = write_config(f"{vms}state_dir: {path}\n")
    assert problems_of(path) == [f"{path}:2: state_dir: {path}: not a directory"]
