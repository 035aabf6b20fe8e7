"""``snapd completion SHELL`` and ``snapd manpage``: generated from the parser itself.

The completion scripts come from shtab (https://github.com/iterative/shtab), which reads
the argparse parser; the manual page from ``snapd.cli.manpage``. Neither is written by
hand, so neither can fall behind ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from snapd.cli.commands import ExitCode
from snapd.cli.options import verbose_option

SHELLS = ("bash", "zsh", "fish")


def _with_path_completion(parser: argparse.ArgumentParser) -> None:
    """Mark every argument that takes a path (``-c FILE``, ``--state-dir DIR``) so that
    the shell completes file names there."""
    import shtab

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _with_path_completion(child)
        elif action.type is Path:
            action.complete = shtab.DIRECTORY if action.dest.endswith("dir") else shtab.FILE  # type: ignore[attr-defined]


def completion(shell: str) -> int:
    """Print the completion script for ``shell``."""
    import shtab

    from snapd.cli.arguments import build_parser

    parser = build_parser()
    _with_path_completion(parser)
    sys.stdout.write(shtab.complete(parser, shell=shell) + "\n")
    return ExitCode.OK


def manpage() -> int:
    """Print the manual page (roff)."""
    from snapd.cli.arguments import build_parser
    from snapd.cli.manpage import manual_page

    sys.stdout.write(manual_page(build_parser()))
    return ExitCode.OK


def run(arguments: argparse.Namespace) -> int:
    """``snapd completion`` or ``snapd manpage``, as parsed."""
    if arguments.command == "completion":
        return completion(arguments.shell)
    return manpage()


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd completion`` and ``snapd manpage`` (no policy needed)."""
    completion = commands.add_parser(
        "completion",
        parents=[verbose_option()],
        help="print a shell completion script (bash, zsh or fish)",
        description="Print the completion script of SHELL, generated from snapd's own "
        "parser. bash: snapd completion bash > /etc/bash_completion.d/snapd; zsh: "
        'snapd completion zsh > "${fpath[1]}/_snapd"; fish: snapd completion fish > '
        "~/.config/fish/completions/snapd.fish.",
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    completion.set_defaults(command="completion")
    manpage = commands.add_parser(
        "manpage",
        parents=[verbose_option()],
        help="print the manual page (roff), generated from the parser",
        description="Print snapd's manual page in roff, generated from the same parser as "
        "--help. Read it with snapd manpage | man -l -, or install it: snapd manpage > "
        "/usr/local/share/man/man1/snapd.1.",
    )
    manpage.set_defaults(command="manpage")
