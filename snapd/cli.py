"""The ``snapd`` command line: argument parsing and dispatch, nothing else.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 3 (``once``)
skipped by a guard. Each subcommand's work lives in ``snapd.commands``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from snapd import __version__
from snapd.commands import ExitCode
from snapd.config import DEFAULT_CONFIG_PATH

Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = """\
Scheduled, guarded snapshots for Hostinger VPS machines.

Hostinger keeps one snapshot per VM and every new snapshot overwrites the previous one.
snapd checks before it overwrites, never posts twice for one slot, waits for the action
and verifies the result, and exports the age of every restore point to Prometheus."""

EPILOG = """\
exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,
            3 (once) skipped by a guard and nothing failed.
The policy file defaults to $SNAPD_CONFIG or /etc/snapd/config.yaml."""


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 timestamp like 2025-01-05T03:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _config_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get("SNAPD_CONFIG", str(DEFAULT_CONFIG_PATH))),
        metavar="FILE",
        help="policy file (default: $SNAPD_CONFIG or %(default)s)",
    )
    return parent


def _run_config_validate(arguments: argparse.Namespace) -> int:
    from snapd.commands import config

    return config.validate(arguments.config)


def _run_config_show(arguments: argparse.Namespace) -> int:
    from snapd.commands import config

    return config.show(arguments.config)


def _run_config_schema(arguments: argparse.Namespace) -> int:
    from snapd.commands import config

    return config.schema()


def _run_plan(arguments: argparse.Namespace) -> int:
    from snapd.commands.plan import plan

    after = arguments.after or datetime.now(UTC)
    return plan(arguments.config, arguments.count, after)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every subcommand sets ``handler``."""
    parser = argparse.ArgumentParser(
        prog="snapd",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"snapd {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    config_option = _config_option()

    config_parser = commands.add_parser(
        "config", help="check, show or describe the policy file", description="Policy file tools."
    )
    config_commands = config_parser.add_subparsers(title="config commands", metavar="COMMAND")
    validate = config_commands.add_parser(
        "validate",
        parents=[config_option],
        help="check the policy; list every problem as FILE:LINE: path: message",
        description="Check the policy file. Exit 0 when valid, 2 with every problem listed.",
    )
    validate.set_defaults(handler=_run_config_validate)
    show = config_commands.add_parser(
        "show",
        parents=[config_option],
        help="print the effective per-VM settings (defaults applied, token masked)",
        description="Print the effective policy as YAML, defaults applied; the token is ***.",
    )
    show.set_defaults(handler=_run_config_show)
    schema = config_commands.add_parser(
        "schema",
        help="print the policy's JSON Schema (for editors and CI)",
        description="Print the JSON Schema that every policy file is validated against.",
    )
    schema.set_defaults(handler=_run_config_schema)
    config_parser.set_defaults(handler=lambda _: _usage(config_parser))

    plan = commands.add_parser(
        "plan",
        parents=[config_option],
        help="show the next scheduled slots of every VM",
        description="Print the next slots of every VM, in UTC and in the VM's time zone.",
    )
    plan.add_argument(
        "--count", type=_positive_int, default=5, metavar="N", help="slots per VM (default 5)"
    )
    plan.add_argument(
        "--after",
        type=_timestamp,
        metavar="TIMESTAMP",
        help="list slots after this ISO 8601 instant instead of now (UTC without an offset)",
    )
    plan.set_defaults(handler=_run_plan)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return its exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handler: Handler | None = getattr(arguments, "handler", None)
    if handler is None:
        return _usage(parser)
    try:
        return handler(arguments)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
