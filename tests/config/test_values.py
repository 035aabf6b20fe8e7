"""Values that once escaped as tracebacks: each is now one ``FILE:LINE: path: message``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.config import UNEXPECTED_PROBLEM, ConfigError, load_config
from tests.conftest import PolicyWriter

# Every check of the file runs with both YAML parsers.
pytestmark = pytest.mark.usefixtures("yaml_loader")

VM = '{id: 1, schedule: "@daily"'


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            f'vms: [{VM}, health_check: {{url: "http://[fd00::1/healthz"}}}}]',
            "1: vms[0].health_check.url: expected an http(s) URL, "
            "got 'http://[fd00::1/healthz': Invalid IPv6 URL",
        ),
        (
            f'vms: [{VM}, health_check: {{url: "http://host:99999/"}}}}]',
            "1: vms[0].health_check.url: expected an http(s) URL, got 'http://host:99999/': "
            "Port out of range 0-65535",
        ),
        (
            f'vms: [{VM}, health_check: {{url: "http://host/a b"}}}}]',
            "spaces and control characters must be percent-encoded",
        ),
        (
            f"vms: [{VM}, min_age: 9999999999999w}}]",
            "1: vms[0].min_age: expected a duration of at most 100 years (36500d), "
            'got "9999999999999w"',
        ),
        (f"vms: [{VM}, jitter: {'9' * 5000}s}}]", "at most 100 years"),
        (f"vms: [{VM}, jitter: ٣h}}]", 'vms[0].jitter: expected a duration like 6h, got "٣h"'),
        (
            f"vms: [{VM}, timezone: America}}]",
            "1: vms[0].timezone: unknown time zone 'America'",
        ),
        (f"vms: [{VM}, timezone: {'a' * 300}}}]", "1: vms[0].timezone: unknown time zone 'aaa"),
        (
            'vms: [{id: 1, schedule: "²0 3 * * *"}]',
            "1: vms[0].schedule: bad cron line '²0 3 * * *': minute: cannot read '²0'",
        ),
        (
            f'vms: [{{id: 1, schedule: "{"1" * 5000} 3 * * *"}}]',
            "1: vms[0].schedule: bad cron line '11111",
        ),
        (f"vms: [{{id: 1{'0' * 5000}, schedule: x}}]", "1: invalid YAML: cannot read the value"),
        (
            'vms: [{id: 99999999999999999999999, schedule: "@daily"}]',
            "1: vms[0].id: must be at most 9223372036854775807, got 99999999999999999999999",
        ),
        (
            f"api: {{requests_per_minute: {10**400}}}\nvms: [{VM}}}]",
            "1: api.requests_per_minute: must be at most 100000, got 1000000000",
        ),
        (f'metrics: {{listen: "1.2.3.4:²"}}\nvms: [{VM}}}]', "1: metrics.listen: expected HOST"),
        (f"when: 2025-13-45\nvms: [{VM}}}]", "1: invalid YAML: cannot read the value '2025-13-45'"),
        (f"api: {{token_file: {'a' * 5000}}}\nvms: [{VM}}}]", "1: api.token_file: cannot be"),
        ("[" * 5000 + "]" * 5000, "1: invalid YAML: nested too deeply"),
        (
            f'state_dir: "\\ud800"\nvms: [{VM}}}]',
            "1: invalid YAML: a \\u escape that is not a character (a lone surrogate)",
        ),
    ],
)
def test_a_bad_value_is_a_one_line_problem_on_its_line(
    write_config: PolicyWriter, body: str, expected: str
) -> None:
    path = write_config(body + "\n")

    problems = problems_of(path)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:")
    assert expected in problems[0]
    assert "\n" not in problems[0]
    assert len(problems[0]) < len(str(path)) + 400
    assert UNEXPECTED_PROBLEM not in problems[0]


def test_nested_aliases_are_checked_quickly_and_once(write_config: PolicyWriter) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    path = write_config("\n".join(lines) + '\nvms: [{id: 1, schedule: "@daily"}]\n')

    problems = problems_of(path)

    assert [problem.split(": ")[1] for problem in problems] == [f"a{n}" for n in range(10)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "1: not UTF-8 text (byte 0x89); is it binary?"),
        (b"vms:\n  - id: 1\n    name: caf\xe9\n", "3: not UTF-8 text (byte 0xe9); is it binary?"),
        (b"vms:\n  - {id: 1, name: \x07}\n", "2: invalid YAML: character #x0007 is not allowed"),
    ],
)
def test_a_file_that_is_not_text_is_one_problem(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)

    assert problems_of(path) == [f"{path}:{expected}"]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text('\ufeffvms: [{id: 1, schedule: "@daily"}]\n', encoding="utf-8")

    assert load_config(path).vms[0].id == 1


def test_a_directory_is_one_problem(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"{tmp_path}: is a directory, expected a YAML file"]


def test_config_validate_exits_2_with_one_line_for_a_broken_url(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(f'vms: [{VM}, health_check: {{url: "http://[fd00::1/healthz"}}}}]\n')

    code = main(["config", "validate", "-c", str(path)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == (
        f"snapd: error: {path}:1: vms[0].health_check.url: expected an http(s) URL, "
        "got 'http://[fd00::1/healthz': Invalid IPv6 URL\n"
    )


def test_an_unforeseen_error_while_checking_is_still_a_config_error(
    write_config: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*arguments: object) -> object:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("snapd.config.vms.slot_gaps", broken)
    path = write_config(f"vms: [{VM}}}]\n")

    assert problems_of(path) == [
        f"{path}:1: {UNEXPECTED_PROBLEM} (OverflowError: date value out of range)"
    ]


def test_a_pipe_or_a_device_is_refused_instead_of_read(tmp_path: Path) -> None:
    pipe = tmp_path / "config.yaml"
    os.mkfifo(pipe)

    assert problems_of(pipe) == [f"{pipe}: not a regular file (a pipe or a device)"]
    assert problems_of(Path("/dev/zero")) == ["/dev/zero: not a regular file (a pipe or a device)"]


def test_a_file_too_large_for_a_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    with path.open("wb") as file:
        file.truncate(5 * 1024 * 1024)

    assert problems_of(path) == [f"{path}: 5242880 bytes is too large for a policy (at most 4 MiB)"]
