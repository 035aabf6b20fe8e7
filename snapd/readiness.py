"""The checks beyond the policy file: would a valid policy run on this machine?

The base URL, the token and the hook commands, checked by ``run``, ``once`` and
``status`` before they start and by ``config validate`` before it says "valid". Apart from
the composition root, so that ``config validate`` does not import the daemon.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from snapd.config import Config
from snapd.config.credentials import CredentialError, Token, load_account_token
from snapd.config.ledger import password_file_warning
from snapd.hostinger.access import check_base_url, check_token


@dataclass(frozen=True)
class Readiness:
    """What keeps a valid policy from running on this machine, and what only warrants a
    warning. ``token`` is the token found, when it was looked for and is usable (the first
    account's); ``tokens`` has every account's by name ("" for a policy without accounts)."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    token: Token | None
    tokens: Mapping[str, Token] = field(default_factory=dict)


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
    tokens: dict[str, Token] = {}
    for index, account in enumerate(config.account_list()):
        # A named account's own base_url, else the api one it inherits.
        own = ("accounts", index, "base_url") if account.name else ("api", "base_url")
        try:
            check_base_url(account.base_url)
        except ValueError as error:
            problems.append(f"{config.located(own, ('api', 'base_url'))}: {error}")
        if token:
            found = _account_token(account.name, account.token_file, environ, problems)
            if found is not None:
                tokens[account.name] = found
                if found.warning:
                    warnings.append(found.warning)
    if token:
        password_warning = password_file_warning(config.ledger)
        if password_warning is not None:
            warnings.append(password_warning)
    if hooks:
        problems.extend(_hook_problems(config))
    first = next(iter(tokens.values()), None) if tokens else None
    return Readiness(tuple(problems), tuple(warnings), first, tokens)


def _account_token(
    account: str,
    token_file: Path | None,
    environ: Mapping[str, str] | None,
    problems: list[str],
) -> Token | None:
    """``account``'s usable token, or None with the reason added to ``problems``."""
    try:
        found = load_account_token(account, token_file, environ)
        check_token(found.value)
    except (CredentialError, ValueError) as error:
        problems.append(str(error))
        return None
    return found


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
