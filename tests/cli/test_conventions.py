"""Command-line conventions: options anywhere, every positional explained, help that reads."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.cli.arguments import build_parser
from tests.conftest import PolicyWriter


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every (sub)command parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.extend(_parsers(child))
    return found


@pytest.fixture
def policy(write_config: PolicyWriter, tmp_path: Path) -> Path:
    return write_config(
        f"state_dir: {tmp_path}\n"
        "vms:\n  - {id: 1268054, name: web-1, schedule: '@daily'}\n"
        "  - {id: 1268055, name: db-1, schedule: '@daily'}\n"
    )


def test_verbose_and_config_work_before_and_after_the_command(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-c", str(policy), "config", "validate", "--offline"]) == 0
    before = capsys.readouterr().out
    assert main(["config", "validate", "--offline", "-c", str(policy)]) == 0
    assert capsys.readouterr().out == before == f"{policy}: valid, 2 virtual machine(s)\n"

    parser = build_parser()
    for argv in (["-v", "status"], ["status", "-v"], ["--verbose", "demo"], ["demo", "-v"]):
        assert parser.parse_args(argv).verbose is True, argv
    assert parser.parse_args(["status"]).verbose is False
    assert parser.parse_args(["-c", "a.yaml", "status"]).config == Path("a.yaml")
    assert parser.parse_args(["status", "-c", "b.yaml"]).config == Path("b.yaml")


def test_fake_api_takes_the_same_verbose_flag() -> None:
    parser = build_parser()
    for argv in (["-v", "fake-api"], ["fake-api", "-v"], ["fake-api", "--verbose"]):
        assert parser.parse_args([*argv, "--token", "t"]).verbose is True, argv
    assert parser.parse_args(["fake-api", "--token", "t"]).verbose is False


def test_every_positional_argument_has_help() -> None:
    for parser in _parsers(build_parser()):
        for action in parser._actions:
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog} {action.metavar or action.dest}"


def test_the_default_policy_file_is_shown_as_the_path_it_resolves_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SNAPD_CONFIG", raising=False)
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert "(default: /etc/hostinger-snapd/config.yaml, $SNAPD_CONFIG overrides it)" in (
        capsys.readouterr().out
    )
    monkeypatch.setenv("SNAPD_CONFIG", "/srv/snapd/policy.yaml")
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert "(default: /srv/snapd/policy.yaml, from $SNAPD_CONFIG)" in capsys.readouterr().out


@pytest.mark.parametrize("columns", ["60", "80", "100"])
def test_no_word_of_any_help_text_is_broken_across_lines(
    monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    for parser in _parsers(build_parser()):
        shown = parser.format_help().split()
        for action in parser._actions:
            if action.help in (None, argparse.SUPPRESS) or "%(" in str(action.help):
                continue
            for word in str(action.help).split():
                assert word in shown, f"{parser.prog}: {word!r} is broken at {columns} columns"


def test_a_vm_is_named_by_id_or_by_its_name_in_the_policy(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "-c", str(policy), "web-1"]) == 0
    assert main(["history", "-c", str(policy), "1268055"]) == 0
    capsys.readouterr()

    assert main(["history", "-c", str(policy), "web-2"]) == 2

    assert capsys.readouterr().err == (
        f"snapd: error: no virtual machine named 'web-2' in {policy} (did you mean 'web-1'?)\n"
    )
