"""``snapd config validate|show|schema``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from snapd.cli.commands import ExitCode
from snapd.cli.commands.loading import load_or_report
from snapd.cli.options import verbose_option
from snapd.config import (
    Config,
    HealthCheck,
    HookCommand,
    Overrides,
    VirtualMachinePolicy,
    machine_problems,
    state_dir_note,
)
from snapd.config.credentials import CredentialError, load_account_token, load_token
from snapd.config.durations import format_duration
from snapd.config.masking import mask_url
from snapd.config.notify import NotifySettings, shown
from snapd.config.schema import POLICY_SCHEMA


def validate(
    path: Path,
    *,
    offline: bool = False,
    credentials_directory: Path | None = None,
    overrides: Overrides | None = None,
) -> int:
    """Exit 0 and say so when ``run`` would accept the policy; else list the problems, exit 2.

    The checks are ``run``'s: the file, then ``check_readiness`` (token, base URL, hooks),
    then a connection to a PostgreSQL ledger (made and closed; nothing is created).
    ``offline`` checks the policy alone: not the token, the hooks, ``api.token_file``,
    ``state_dir`` or the database, which belong to the machine the policy is meant for.
    ``credentials_directory`` stands for ``$CREDENTIALS_DIRECTORY``: the token is looked
    for as the service manager will hand it over (a missing folder is an error).
    ``overrides`` are the command line's ``--state-dir`` and ``--metrics-listen``.
    """
    from snapd.readiness import check_readiness

    environment = _environment(credentials_directory)
    if environment is None:
        return ExitCode.USAGE
    # The file first, alone (its problems are all found in one pass); then, on the policy
    # it describes, every check of this machine, all reported together.
    config = load_or_report(
        path, offline=True, environ=environment, machine_paths=not offline, overrides=overrides
    )
    if config is None:
        return ExitCode.USAGE
    readiness = check_readiness(config, token=not offline, hooks=not offline, environ=environment)
    for warning in readiness.warnings:
        print(f"snapd: warning: {warning}", file=sys.stderr)
    problems = [] if offline else machine_problems(config, environment)
    problems += readiness.problems
    if not offline and config.ledger.shared:
        from snapd.ledger.backends import shared_ledger_problem

        # run connects before anything else; a refused connection or password is found now.
        ledger_problem = shared_ledger_problem(config.ledger)
        problems += [ledger_problem] if ledger_problem is not None else []
    for problem in problems:
        print(f"snapd: error: {problem}", file=sys.stderr)
    if problems:
        return ExitCode.USAGE
    print(f"{path}: valid, {len(config.vms)} virtual machine(s)", file=sys.stdout)
    note = None if offline else state_dir_note(config)
    if note is not None:
        print(f"{path}: {note}", file=sys.stdout)
    return ExitCode.OK


def _environment(credentials_directory: Path | None) -> dict[str, str] | None:
    """The process environment, ``$CREDENTIALS_DIRECTORY`` set to ``credentials_directory``
    when one was given; None (and one error line) when that is not a folder."""
    environment = dict(os.environ)
    if credentials_directory is not None:
        if not credentials_directory.is_dir():
            error = f"--credentials-dir {credentials_directory}: not a folder"
            print(f"snapd: error: {error}", file=sys.stderr)
            return None
        environment["CREDENTIALS_DIRECTORY"] = str(credentials_directory)
    return environment


def _shown(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _vm_settings(policy: VirtualMachinePolicy) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, value in vars(policy).items():
        if value is None or (key == "account" and not value):  # "": no accounts listed
            continue
        if isinstance(value, HealthCheck):
            # The URL may carry a secret (masked); a hook's argv carries none by contract.
            settings[key] = {name: _shown(item) for name, item in vars(value).items()}
            settings[key]["url"] = mask_url(value.url)
            if not value.expect_status:  # empty means any 2xx, not "none"
                settings[key]["expect_status"] = "any 2xx"
        elif isinstance(value, HookCommand):
            settings[key] = {"command": list(value.command), "timeout": _shown(value.timeout)}
            if value.environment:  # shown under its policy key; names only, no values
                settings[key]["env"] = list(value.environment)
        elif isinstance(value, NotifySettings):
            settings[key] = shown(value)  # every URL masked: they are secrets
        elif hasattr(value, "__dataclass_fields__"):
            settings[key] = {name: _shown(item) for name, item in vars(value).items()}
        else:
            settings[key] = _shown(value)
    return settings


def show(path: Path, overrides: Overrides | None = None) -> int:
    """Print the effective policy (defaults applied, ``overrides`` over it, token masked)
    as YAML; this machine's paths are not checked (a production policy is shown on a
    laptop as well)."""
    config = load_or_report(path, offline=True, overrides=overrides)
    if config is None:
        return ExitCode.USAGE
    try:
        token = load_token(config.api.token_file)
        token_text = f"*** (from {token.source})"
    except CredentialError as error:
        token_text = f"(none: {error})"
    effective = {
        "api": {
            "base_url": mask_url(config.api.base_url),
            "token": token_text,
            "timeout": format_duration(config.api.timeout),
            "requests_per_minute": config.api.requests_per_minute,
        },
        "metrics": {"listen": config.metrics.listen},
        "state_dir": str(config.state_dir),
        "ledger": config.ledger.shown(),
        "stop_timeout": format_duration(config.stop_timeout),
        "log": {"format": config.log.format, "level": config.log.level},
        "vms": [_vm_settings(policy) for policy in config.vms],
    }
    if config.accounts:
        effective = {"api": effective.pop("api"), "accounts": _accounts(config), **effective}
    sys.stdout.write(yaml.safe_dump(effective, sort_keys=False, allow_unicode=True))
    return ExitCode.OK


def _accounts(config: Config) -> list[dict[str, Any]]:
    """The ``accounts`` list as ``config show`` prints it, each token masked."""
    shown = []
    for account in config.accounts:
        try:
            token = load_account_token(account.name, account.token_file)
            token_text = f"*** (from {token.source})"
        except CredentialError as error:
            token_text = f"(none: {error})"
        shown.append({
            "name": account.name, "base_url": mask_url(account.base_url), "token": token_text,
            "requests_per_minute": account.requests_per_minute,
        })  # fmt: skip
    return shown


def schema() -> int:
    """Print the policy's JSON Schema."""
    print(json.dumps(POLICY_SCHEMA, indent=2))
    return ExitCode.OK


def run(arguments: argparse.Namespace) -> int:
    """``config validate``, ``config show`` or ``config schema``, as parsed."""
    from snapd.cli.overrides import overrides

    if arguments.command == "config_validate":
        return validate(
            arguments.config,
            offline=arguments.offline,
            credentials_directory=arguments.credentials_directory,
            overrides=overrides(arguments),
        )
    if arguments.command == "config_show":
        return show(arguments.config, overrides(arguments))
    return schema()


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of the ``config`` group: validate, show, schema."""
    config_parser = commands.add_parser(
        "config", help="check, show or describe the policy file", description="Policy file tools."
    )
    config_commands = config_parser.add_subparsers(title="config commands", metavar="COMMAND")
    validate = config_commands.add_parser(
        "validate",
        parents=[config_option],
        help="check the policy as run does; list every problem as FILE:LINE: path: message",
        description="Check the policy file and everything run checks before it starts: "
        "the API base URL, the token, state_dir, the hook commands and, for a PostgreSQL "
        "ledger, a connection to the database (made and closed again). Exit 0 when valid, "
        "2 with every problem listed.",
    )
    validate.add_argument(
        "--offline",
        action="store_true",
        help="check the policy alone (for CI): not the token, api.token_file, state_dir, "
        "the hook commands or the PostgreSQL connection, which belong to the machine that "
        "runs it",
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
        description="Print the effective policy as YAML, defaults applied; the token is ***. "
        "Only the file is checked, not this machine's paths (state_dir, api.token_file): a "
        "production policy can be shown anywhere.",
    )
    show.set_defaults(command="config_show")
    schema = config_commands.add_parser(
        "schema",
        parents=[verbose_option()],
        help="print the policy's JSON Schema (for editors and CI)",
        description="Print the JSON Schema that every policy file is validated against.",
    )
    schema.set_defaults(command="config_schema")
    config_parser.set_defaults(command="config_help", help_parser=config_parser)
