"""The README's promises: two quick-start commands, the second one being what CI runs."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
CI_SCRIPT = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if not line.startswith("#")]


def test_the_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("snapd demo")
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readmes_test_command() -> None:
    assert quick_start_commands()[1] in CI_SCRIPT.splitlines()


def _section(heading: str) -> str:
    return README.split(heading, 1)[1].split("\n#", 1)[0]


def test_every_hook_variable_and_post_hook_result_is_documented() -> None:
    from datetime import UTC, datetime

    from snapd.checks.hooks import hook_environment
    from snapd.pipeline.outcome import Result

    hooks = _section("### Hooks")
    slot = datetime(2026, 11, 27, 3, tzinfo=UTC)
    for variable in hook_environment(1, slot, "success"):
        assert f"`{variable}`" in hooks
    assert "**empty** for `snapd once`" in hooks
    assert hook_environment(1, None)["SNAPD_SLOT"] == ""
    # A dry run never runs the post-hook; unknown is only ever read from a stored row.
    for result in set(Result) - {Result.DRY_RUN, Result.UNKNOWN}:
        assert f"`{result.value}`" in hooks


def test_every_command_has_its_exit_codes_documented() -> None:
    from snapd.cli.arguments import build_parser

    table = README.split("| command | 0 | 1 | 2 | 3 |", 1)[1].split("\n\n", 1)[0]
    documented = {
        name.strip("` ") for row in table.splitlines()[1:] for name in row.split("|")[1].split(",")
    }
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    expected = set()
    for name, subparser in commands.items():
        nested = subparser._subparsers
        if nested is None:
            expected.add(name)
        else:
            expected |= {f"{name} {child}" for child in nested._group_actions[0].choices}
    assert expected <= documented
