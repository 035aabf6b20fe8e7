"""What the commands share once parsed: the policy loaded (with logging), VMs named.

``ConfigError`` and ``UsageError`` go up to ``snapd.cli.dispatch.main``: one line each,
exit code 2.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping
from pathlib import Path

from snapd.cli.commands import UsageError
from snapd.cli.options import with_policy_hint
from snapd.config import Config, ConfigError, Overrides, load_config, machine_problems


def load(arguments: argparse.Namespace, *, offline: bool = False) -> Config:
    """Load the policy, with the command line's ``--state-dir`` and ``--metrics-listen``
    over it, and set up logging as it asks; ``offline``: this machine's paths are left for
    the caller to check."""
    from snapd.cli.overrides import overrides
    from snapd.logs import configure_logging

    config = load_config(arguments.config, offline=offline, overrides=overrides(arguments))
    configure_logging(config.log.format, "debug" if arguments.verbose else config.log.level)
    return config


def load_with_machine_paths(
    path: Path, environ: Mapping[str, str] | None, overrides: Overrides | None = None
) -> Config:
    """The policy file alone (``load_config`` offline); when it has problems but still
    describes a policy, raise ``ConfigError`` with those of this machine's paths it names
    (a ``token_file``, ``state_dir``) among them: one list, in line order."""
    try:
        return load_config(path, offline=True, environ=environ, overrides=overrides)
    except ConfigError:
        # Raises again, this machine's paths checked too.
        load_config(path, environ=environ, overrides=overrides)
        raise


def load_or_report(
    path: Path,
    *,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
    machine_paths: bool = False,
    overrides: Overrides | None = None,
) -> Config | None:
    """Load the policy (``overrides`` over it), or print every problem to ``stderr`` and
    return None; ``machine_paths``: see ``load_with_machine_paths`` (``offline`` is then
    implied)."""
    try:
        if machine_paths:
            return load_with_machine_paths(path, environ, overrides)
        return load_config(path, offline=offline, environ=environ, overrides=overrides)
    except ConfigError as error:
        for problem in with_policy_hint(error.problems):
            print(f"snapd: error: {problem}", file=sys.stderr)
        return None


def resolve(config: Config, reference: str) -> int:
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


def resolve_all(config: Config, references: list[str]) -> list[int]:
    return [resolve(config, reference) for reference in references]


def check_ready(config: Config) -> None:
    """For the commands that run hooks: every check of ``config validate`` on this
    machine (its paths, the token, the base URL, the hooks), all reported at once (the
    other commands meet the token and base URL checks when their client is built)."""
    from snapd.readiness import check_readiness

    problems = machine_problems(config) + list(check_readiness(config).problems)
    if problems:
        raise ConfigError(problems)


def load_ready(arguments: argparse.Namespace) -> Config:
    """``load`` (the file), then ``check_ready`` (this machine): for ``once`` and ``run``."""
    config = load(arguments, offline=True)
    check_ready(config)
    return config


def refused_token(config: Config, account: str = "") -> str:
    """What to say when the API refused ``account``'s token ("": the policy's one account):
    where that token came from (a file, the systemd credential, the environment), so that
    the operator knows what to fix."""
    from snapd.config.credentials import CredentialError, load_account_token

    settings = next((entry for entry in config.account_list() if entry.name == account), None)
    try:
        if settings is None:  # not an account of the policy: nothing to point at
            raise CredentialError(account)
        origin = load_account_token(settings.name, settings.token_file).origin
    except CredentialError:
        return "the API refused the token"
    return f"the API refused the token from {origin}; replace it there"
