"""The checks beyond the policy file: would a valid policy run on this machine?

The base URL, the token and the hook commands, checked by ``run``, ``once`` and
``status`` before they start and by ``config validate`` before it says "valid". Apart from
the composition root, so that ``config validate`` does not import the daemon.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from snapd.config import Config
from snapd.config.credentials import CredentialError, Token, load_token
from snapd.config.ledger import password_file_warning
from snapd.hostinger.access import check_base_url, check_token


@dataclass(frozen=True)
class Readiness:
    """What keeps a valid policy from running on this machine, and what only warrants a
    warning. ``token`` is the token found, when it was looked for and is usable."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    token: Token | None


def check_readiness(
    config: Config,
    *,
    token: bool = True,
    hooks: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Readiness:
    """Every check beyond the policy file that ``run``, ``once`` and ``status`` make before
    they start, and ``config validate`` makes to say "valid".

    The base URL is always checked (plain http only to loopback); the token (found, not
    empty, a file only its owner can read) and the ledger's password file (only its owner
    can read it) when ``token``; the hook commands (they exist
    and are executable) when ``hooks``. ``config validate --offline`` checks neither: they
    need the secret and the target machine. ``environ`` (the process environment when
    None) is where the token's environment variables are read. Problems and warnings are
    one line each and never contain the token.
    """
    problems: list[str] = []
    warnings: list[str] = []
    try:
        check_base_url(config.api.base_url)
    except ValueError as error:
        problems.append(f"{config.located(('api', 'base_url'))}: {error}")
    found: Token | None = None
    if token:
        try:
            found = load_token(config.api.token_file, environ)
            check_token(found.value)
        except (CredentialError, ValueError) as error:
            problems.append(str(error))
            found = None
        if found is not None and found.warning:
            warnings.append(found.warning)
        password_warning = password_file_warning(config.ledger)
        if password_warning is not None:
            warnings.append(password_warning)
    if hooks:
        problems.extend(_hook_problems(config))
    return Readiness(tuple(problems), tuple(warnings), found)


def _hook_problems(config: Config) -> list[str]:
    """One line per hook command that cannot start here, naming the VMs that use it."""
    users: dict[tuple[str, str], list[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for index, policy in enumerate(config.vms):
        for kind, hook in (("pre_hook", policy.pre_hook), ("post_hook", policy.post_hook)):
            if hook is not None:
                key = (kind, hook.command[0])
                users.setdefault(key, []).append(str(policy.id))
                # The VM's own setting, else the defaults' (the first VM using it names it).
                own, inherited = ("vms", index, kind, "command"), ("defaults", kind, "command")
                where.setdefault(key, config.located(own, inherited))
    problems = []
    for (kind, executable), virtual_machines in users.items():
        reason = _unusable_command(executable)
        if reason is not None:
            problems.append(
                f"{where[(kind, executable)]}: {reason}: {executable} "
                f"(virtual machine(s) {', '.join(virtual_machines)})"
            )
    return problems


def _unusable_command(executable: str) -> str | None:
    """Why ``executable`` cannot be started as a hook, or None when it can.

    A name without a slash is looked up in ``PATH``, as starting the hook does.
    """
    if shutil.which(executable) is not None:
        return None
    if "/" in executable and Path(executable).is_file():
        return "command is not executable"
    return "command not found"
