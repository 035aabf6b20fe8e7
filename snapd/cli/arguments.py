"""The ``snapd`` command line's grammar: every subcommand, option and help text.

Parsing only: each subcommand sets ``command`` to the name of its handler in ``snapd.cli``.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path
from typing import Any

from snapd import __version__
from snapd.cli.argument_types import add_workers_argument, duration, positive_int, timestamp
from snapd.cli.commands import notify as notify_command
from snapd.cli.operation_arguments import add_operations
from snapd.config import DEFAULT_CONFIG_PATH
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

VERBOSE_HELP = "log at debug level whatever the policy says"


class WholeWordsFormatter(argparse.HelpFormatter):
    """Wraps help at spaces only, so that an example (``get_action:action_states``,
    ``Retry-After=60``) is never broken in the middle of a word."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(
            " ".join(text.split()), width, break_long_words=False, break_on_hyphens=False
        )

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )


class _TopFormatter(argparse.RawDescriptionHelpFormatter, WholeWordsFormatter):
    """The top level keeps its description's own lines."""


class _Parser(argparse.ArgumentParser):
    """Every (sub)command's parser: help wrapped at whole words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", WholeWordsFormatter)
        super().__init__(*args, **kwargs)


def default_config() -> tuple[Path, str]:
    """The policy file used without ``-c``, and where that choice comes from."""
    chosen = os.environ.get("SNAPD_CONFIG")
    if chosen:
        return Path(chosen), "from $SNAPD_CONFIG"
    return DEFAULT_CONFIG_PATH, "$SNAPD_CONFIG overrides it"


def _config_option(*, top_level: bool = False) -> argparse.ArgumentParser:
    """``-c FILE`` (and, on a command, ``-v``): on the top level with the default, on a
    command without one, so that ``snapd -c F status`` and ``snapd status -c F`` mean
    the same."""
    parent = _verbose_option() if not top_level else _Parser(add_help=False)
    path, source = default_config()
    parent.add_argument(
        "-c",
        "--config",
        type=Path,
        default=path if top_level else argparse.SUPPRESS,
        metavar="FILE",
        help=f"policy file (default: {path}, {source})",
    )
    return parent


def _verbose_option() -> argparse.ArgumentParser:
    """``-v`` after the command, as before it (no default here: the top level's stands)."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
    )
    return parent


def _add_daemon(commands: Any, config_option: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run",
        parents=[config_option],
        help="run the daemon: snapshots on schedule, metrics on /metrics",
        description="Run the daemon: one job per VM on its schedule, catch-up of a missed "
        "slot found by a paced look at the fleet after start, refresh before expiry, "
        "/metrics, /healthz, /readyz and /status (read by snapd status). SIGHUP "
        "reloads the policy (an invalid one is rejected and the old one stays); SIGTERM "
        "and SIGINT stop within seconds, leaving running actions recorded as pending for "
        "the next start. One daemon per state_dir: a second one exits 2 naming the first.",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and log every slot as usual, but create nothing",
    )
    run.add_argument(
        "--inventory-interval",
        type=duration,
        metavar="DURATION",
        help="re-read every VM's snapshot (and a twelfth of the VMs' backups, in turn) this "
        "often, e.g. 15m (default: derived from the fleet size so that it uses at most a "
        "tenth of requests_per_minute)",
    )
    add_workers_argument(run)
    run.set_defaults(command="daemon")


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[_verbose_option()],
        help="run the daemon against the embedded fake API (no token, no network)",
        description="Start the fake Hostinger API in this process with a few VMs, a policy "
        "that snapshots every minute, a ledger in a temporary folder and the metrics "
        "endpoint, then run the daemon. Ctrl-C ends it.",
    )
    demo.add_argument(
        "--vms", type=positive_int, default=3, metavar="N", help="number of fake VMs (default 3)"
    )
    demo.add_argument(
        "--run-for",
        type=duration,
        metavar="DURATION",
        help="stop by itself after this long, e.g. 2m (default: until Ctrl-C)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo's policy and ledger afterwards (for snapd history); "
        "the summary at exit says where",
    )
    demo.set_defaults(command="demo")


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
    parser = _Parser(
        prog="snapd",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_TopFormatter,
        parents=[_config_option(top_level=True)],
    )
    parser.add_argument("--version", action="version", version=f"snapd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    config_option = _config_option()

    _add_config(commands, config_option)
    _add_plan(commands, config_option)
    _add_daemon(commands, config_option)
    _add_demo(commands)
    add_operations(commands, config_option)
    _add_fake_api(commands)
    notify_command.add_arguments(commands, config_option)
    return parser


def _add_config(commands: Any, config_option: argparse.ArgumentParser) -> None:
    config_parser = commands.add_parser(
        "config", help="check, show or describe the policy file", description="Policy file tools."
    )
    config_commands = config_parser.add_subparsers(title="config commands", metavar="COMMAND")
    validate = config_commands.add_parser(
        "validate",
        parents=[config_option],
        help="check the policy as run does; list every problem as FILE:LINE: path: message",
        description="Check the policy file and everything run checks before it starts: "
        "the API base URL, the token, state_dir and the hook commands. Exit 0 when valid, "
        "2 with every problem listed.",
    )
    validate.add_argument(
        "--offline",
        action="store_true",
        help="check the policy alone (for CI): not the token, api.token_file, state_dir "
        "or the hook commands, which belong to the machine that runs it",
    )
    validate.add_argument(
        "--credentials-dir",
        dest="credentials_directory",
        type=Path,
        metavar="DIR",
        help="look for the token as the service will find it: DIR/hostinger-api-token "
        "stands for $CREDENTIALS_DIRECTORY/hostinger-api-token (LoadCredential=), which "
        "wins over api.token_file; e.g. /etc/hostinger-snapd, the folder of the file the "
        "unit's LoadCredential= names",
    )
    validate.set_defaults(command="config_validate")
    show = config_commands.add_parser(
        "show",
        parents=[config_option],
        help="print the effective per-VM settings (defaults applied, token masked)",
        description="Print the effective policy as YAML, defaults applied; the token is ***.",
    )
    show.set_defaults(command="config_show")
    schema = config_commands.add_parser(
        "schema",
        parents=[_verbose_option()],
        help="print the policy's JSON Schema (for editors and CI)",
        description="Print the JSON Schema that every policy file is validated against.",
    )
    schema.set_defaults(command="config_schema")
    config_parser.set_defaults(command="config_help", help_parser=config_parser)


def _add_plan(commands: Any, config_option: argparse.ArgumentParser) -> None:
    plan = commands.add_parser(
        "plan",
        parents=[config_option],
        help="show the next scheduled slots of every VM",
        description="Print the next slots of every VM, in UTC and in the VM's time zone.",
    )
    plan.add_argument(
        "--count", type=positive_int, default=5, metavar="N", help="slots per VM (default 5)"
    )
    plan.add_argument(
        "--after",
        type=timestamp,
        metavar="TIMESTAMP",
        help="list slots after this ISO 8601 instant instead of now (UTC without an offset)",
    )
    plan.set_defaults(command="plan")
