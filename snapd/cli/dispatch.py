"""The ``snapd`` command line: each subcommand's handler, and ``main``.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 3 (``once``)
skipped by a guard, 130 (``once``) stopped by Ctrl-C. The grammar is in
``snapd.cli.arguments``; the work in ``snapd.cli.commands``.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence

from snapd.cli.arguments import build_parser
from snapd.cli.commands import ExitCode, UsageError
from snapd.clock import utc_now
from snapd.config import Config, ConfigError, load_config

Handler = Callable[[argparse.Namespace], int]


def _run_config_validate(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands import config

    return config.validate(
        arguments.config,
        offline=arguments.offline,
        credentials_directory=arguments.credentials_directory,
    )


def _run_config_show(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands import config

    return config.show(arguments.config)


def _run_config_schema(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands import config

    return config.schema()


def _run_plan(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.plan import plan

    after = arguments.after or utc_now()
    return plan(arguments.config, arguments.count, after)


def _load(arguments: argparse.Namespace) -> Config:
    """Load the policy and set up logging as it asks (``ConfigError`` goes to ``main``)."""
    from snapd.logs import configure_logging

    config = load_config(arguments.config)
    configure_logging(config.log.format, "debug" if arguments.verbose else config.log.level)
    return config


def _resolve(config: Config, reference: str) -> int:
    """The id of the VM given on the command line by id or by its ``name`` in the policy.

    An id is taken as given (each command says whether the policy must list it); a name
    must be in the policy.
    """
    if reference.isdigit():
        return int(reference)
    names = {policy.name: policy.id for policy in config.vms}
    if reference in names:
        return names[reference]
    close = difflib.get_close_matches(reference, list(names), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UsageError(f"no virtual machine named {reference!r} in {config.source}{hint}")


def _resolve_all(config: Config, references: list[str]) -> list[int]:
    return [_resolve(config, reference) for reference in references]


def _check_ready(config: Config) -> None:
    """For the commands that run hooks: every check of ``config validate``, all at once
    (the other commands meet the token and base URL checks when their client is built)."""
    from snapd.readiness import check_readiness

    problems = check_readiness(config).problems
    if problems:
        raise ConfigError(list(problems))


def _run_once(arguments: argparse.Namespace) -> int:
    from snapd.cli.processes import once

    config = _load(arguments)
    _check_ready(config)
    return once(arguments, config, _resolve_all(config, arguments.vm_ids))


def _run_status(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.status import status, status_from_daemon
    from snapd.daemon.status_address import fetch_daemon_status
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, build_client, open_ledger

    config = _load(arguments)
    # A daemon on this state_dir already knows the fleet: ask it, not the API.
    document = fetch_daemon_status(config.state_dir)
    if document is not None:
        with open_ledger(config, read_only_if_needed=True) as ledger:
            return status_from_daemon(config, document, ledger, utc_now())
    client = build_client(config, connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS)
    try:
        with open_ledger(config, read_only_if_needed=True) as ledger:
            return status(config, client, ledger, utc_now())
    finally:
        client.close()


def _run_history(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.inspect import history
    from snapd.runtime import open_ledger

    config = _load(arguments)
    virtual_machine_id = None if arguments.vm_id is None else _resolve(config, arguments.vm_id)
    if virtual_machine_id is not None and virtual_machine_id not in {vm.id for vm in config.vms}:
        raise UsageError(f"virtual machine {virtual_machine_id} is not in {config.source}")
    with open_ledger(config, read_only_if_needed=True) as ledger:
        return history(ledger, virtual_machine_id, arguments.limit)


def _run_hold(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.holds import hold
    from snapd.hostinger import ApiError
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, build_client, open_ledger

    config = _load(arguments)
    virtual_machine_id = _resolve(config, arguments.vm_id)
    if virtual_machine_id not in {policy.id for policy in config.vms}:
        raise UsageError(f"virtual machine {virtual_machine_id} is not in {config.source}")
    snapshot = None
    try:
        client = build_client(
            config, connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS
        )
        try:
            snapshot = client.get_snapshot(virtual_machine_id)
        finally:
            client.close()
    except (UsageError, ApiError) as error:
        print(f"warning: could not check the snapshot's expiry: {error}", file=sys.stderr)
    with open_ledger(config) as ledger:
        now = utc_now()
        return hold(ledger, virtual_machine_id, arguments.duration, arguments.reason, now, snapshot)


def _run_release(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.holds import release
    from snapd.runtime import open_ledger

    config = _load(arguments)
    with open_ledger(config) as ledger:
        return release(ledger, _resolve(config, arguments.vm_id))


def _run_manual(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.manual import run_manual
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, open_runtime

    config = _load(arguments)
    virtual_machine_id = _resolve(config, arguments.vm_id)
    runtime = open_runtime(config, connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS)
    try:
        return run_manual(
            runtime,
            arguments.kind,
            virtual_machine_id,
            assume_yes=arguments.yes,
            now=utc_now(),
        )
    finally:
        runtime.close()


def _run_daemon(arguments: argparse.Namespace) -> int:
    from snapd.cli.processes import daemon

    def load(arguments: argparse.Namespace) -> Config:
        config = _load(arguments)
        _check_ready(config)
        return config

    return daemon(arguments, load)


def _run_demo(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.demo import run_demo

    run_for = arguments.run_for.total_seconds() if arguments.run_for else None
    return run_demo(arguments.vms, run_for, keep=arguments.keep)


def _run_notify_test(arguments: argparse.Namespace) -> int:
    from snapd.cli.commands.notify import run_test

    config = _load(arguments)
    return run_test(config, _resolve_all(config, arguments.vm_ids))


def _run_fake_api(arguments: argparse.Namespace) -> int:
    from snapd.fakeapi import command

    return command.run(arguments)


HANDLERS: dict[str, Handler] = {
    "config_validate": _run_config_validate,
    "config_show": _run_config_show,
    "config_schema": _run_config_schema,
    "plan": _run_plan,
    "daemon": _run_daemon,
    "demo": _run_demo,
    "once": _run_once,
    "status": _run_status,
    "history": _run_history,
    "hold": _run_hold,
    "release": _run_release,
    "manual": _run_manual,
    "fake_api": _run_fake_api,
    "notify_test": _run_notify_test,
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
    handler = HANDLERS[name]
    try:
        return handler(arguments)
    except ConfigError as error:
        for problem in error.problems:
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
