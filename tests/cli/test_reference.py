"""``snapd completion SHELL`` and ``snapd manpage``: generated from the parser, and valid."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.cli.arguments import build_parser
from tests.support.tools import tool


def command_words() -> set[str]:
    """Every command and subcommand name ``snapd`` parses (``run``, ``config``, ``show`` …)."""
    words: set[str] = set()

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    words.add(name)
                    walk(child)

    walk(build_parser())
    return words


def printed(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    assert main(list(arguments)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shells_completion_script_names_every_command_and_the_new_options(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = printed(capsys, "completion", shell)
    missing = sorted(word for word in command_words() if word not in script)
    assert not missing, f"{shell} completion lacks {missing}"
    for option in ("--state-dir", "--metrics-listen", "--until", "--dry-run"):
        assert option in script, option


@pytest.mark.parametrize(
    ("shell", "package"),
    [
        ("bash", "Debian's bash package"),
        ("zsh", "Debian's zsh package"),
        ("fish", "Debian's fish package"),
    ],
)
def test_each_shell_accepts_its_completion_script(
    shell: str, package: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"snapd.{shell}"
    path.write_text(printed(capsys, "completion", shell))
    checked = subprocess.run(
        [tool(shell, package), "-n", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


def test_bash_completes_commands_and_the_files_of_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "snapd.bash"
    path.write_text(printed(capsys, "completion", "bash"))
    (tmp_path / "policy.yaml").write_text("")

    def complete(*words: str) -> list[str]:
        line = " ".join(("snapd", *words))
        script = (
            f"source {path}\n"
            f"COMP_WORDS=(snapd {' '.join(words)}); COMP_CWORD={len(words)}\n"
            f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n"
            "_shtab_snapd\n"
            'printf "%s\\n" "${COMPREPLY[@]}"\n'
        )
        answer = subprocess.run(
            [tool("bash", "Debian's bash package"), "-c", script],
            capture_output=True, text=True, check=True, cwd=tmp_path,
        )  # fmt: skip
        return answer.stdout.split()

    assert {"hold", "release", "completion", "manpage"} <= set(complete("h")) | set(complete(""))
    assert "policy.yaml" in complete("status", "-c", "pol")


def test_the_manual_page_lists_every_command_and_option_and_renders_without_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = printed(capsys, "manpage")
    assert page.startswith(".TH SNAPD 1 ")
    for words in ("snapd hold", "snapd config show", "snapd completion", "snapd fake\\-api"):
        assert f'.SS "{words}"' in page, words
    titles = " ".join(line for line in page.splitlines() if line.startswith(".SS "))
    missing = sorted(word for word in command_words() if word.replace("-", "\\-") not in titles)
    assert not missing, f"the page lacks {missing}"
    assert "\\-\\-until" in page and "\\-\\-state\\-dir" in page
    path = tmp_path / "snapd.1"
    path.write_text(page)
    groff = tool("groff", "Debian's groff-base package")
    rendered = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww", "-z", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert rendered.returncode == 0
    assert rendered.stderr == ""


def test_the_manual_page_is_the_same_whatever_the_terminal_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = printed(capsys, "manpage")
    monkeypatch.setenv("COLUMNS", "60")
    assert printed(capsys, "manpage") == wide
