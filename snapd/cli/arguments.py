"""The ``snapd`` command line's grammar: the top level, then each command's own.

Each command's module in ``snapd.cli.commands`` declares its grammar
(``add_arguments``) and runs it (``run``); its parser sets ``command`` to the name
``snapd.cli.dispatch`` runs it by. The shared option groups are in ``snapd.cli.options``.
"""

from __future__ import annotations

import argparse
from typing import Any

from snapd import __version__
from snapd.cli.commands import (
    config,
    daemon,
    demo,
    holds,
    inspect,
    manual,
    notify,
    once,
    plan,
    reference,
)
from snapd.cli.commands import simulate as simulate_command
from snapd.cli.commands import status as status_command
from snapd.cli.options import VERBOSE_HELP, Parser, WholeWordsFormatter, config_option
from snapd.cli.overrides import add_override_options
from snapd.fakeapi import grammar as fake_api_grammar

DESCRIPTION = """\
Scheduled, guarded snapshots for Hostinger VPS machines.

Hostinger keeps one snapshot per VM and every new snapshot overwrites the previous one.
snapd checks before it overwrites, never posts twice for one slot, waits for the action
and verifies the result, and exports the age of every restore point to Prometheus."""

EPILOG = """\
exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,
            3 (once) skipped by a guard and nothing failed, 130 (once) stopped by Ctrl-C.
-v and -c may come before or after the command.
The policy file defaults to $SNAPD_CONFIG or /etc/hostinger-snapd/config.yaml."""


class _TopFormatter(argparse.RawDescriptionHelpFormatter, WholeWordsFormatter):
    """The top level keeps its description's own lines."""


# The commands in the order ``snapd --help`` lists them.
GRAMMARS = (
    config.add_arguments,
    plan.add_arguments,
    daemon.add_arguments,
    demo.add_arguments,
    once.add_arguments,
    status_command.add_arguments,
    inspect.add_arguments,
    holds.add_arguments,
    manual.add_arguments,
    simulate_command.add_arguments,
)


def _add_fake_api(commands: Any) -> None:
    fake_api = commands.add_parser(
        "fake-api",
        help="serve the embedded fake Hostinger API (for trying snapd out and for tests)",
        description="Serve a fake of the Hostinger VPS API that behaves like the real one: "
        "bearer auth, one snapshot per VM that each create overwrites, asynchronous "
        "actions, pagination, rate limiting and injectable faults. Prints its base URL "
        "and VM ids; stops on Ctrl-C or SIGTERM.",
    )
    fake_api_grammar.add_arguments(fake_api)
    fake_api.set_defaults(command="fake_api")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every subcommand sets ``handler``."""
    parser = Parser(
        prog="snapd",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_TopFormatter,
        parents=[config_option(top_level=True)],
    )
    parser.add_argument("--version", action="version", version=f"snapd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    on_command = config_option()
    for add_arguments in GRAMMARS:
        add_arguments(commands, on_command)
    _add_fake_api(commands)
    notify.add_arguments(commands, on_command)
    reference.add_arguments(commands, on_command)
    add_override_options(parser)
    return parser
