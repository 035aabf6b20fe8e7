"""The ``snapd`` command line: which module runs each subcommand, and ``main``.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 3 (``once``)
skipped by a guard, 130 (``once``) stopped by Ctrl-C. The grammar is in
``snapd.cli.arguments``; each command's ``run`` in ``snapd.cli.commands``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from snapd.cli.arguments import build_parser
from snapd.cli.commands import ExitCode, UsageError
from snapd.cli.options import with_policy_hint
from snapd.config import ConfigError

# Each command's module, by the name its grammar sets (``command=``); each has
# ``run(arguments) -> int``. Imported only when chosen: a command loads what it needs.
COMMANDS = {
    "config_validate": "snapd.cli.commands.config",
    "config_show": "snapd.cli.commands.config",
    "config_schema": "snapd.cli.commands.config",
    "plan": "snapd.cli.commands.plan",
    "daemon": "snapd.cli.commands.daemon",
    "demo": "snapd.cli.commands.demo",
    "once": "snapd.cli.commands.once",
    "status": "snapd.cli.commands.status",
    "history": "snapd.cli.commands.inspect",
    "hold": "snapd.cli.commands.holds",
    "release": "snapd.cli.commands.holds",
    "manual": "snapd.cli.commands.manual",
    "fake_api": "snapd.fakeapi.command",
    "notify_test": "snapd.cli.commands.notify",
    "simulate": "snapd.cli.commands.simulate",
    "completion": "snapd.cli.commands.reference",
    "manpage": "snapd.cli.commands.reference",
}


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return its exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    name: str | None = getattr(arguments, "command", None)
    if name is None:
        return _usage(parser)
    if name == "config_help":
        return _usage(arguments.help_parser)
    try:
        command: int = importlib.import_module(COMMANDS[name]).run(arguments)
        return command
    except ConfigError as error:
        for problem in with_policy_hint(error.problems):
            print(f"snapd: error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    except UsageError as error:
        for line in error.lines:
            print(f"snapd: error: {line}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
